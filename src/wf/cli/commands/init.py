"""``wf init``: create the workflows and logs directories, the database and a config file."""

from __future__ import annotations

import click

from wf.cli.context import app_context
from wf.cli.fmt import Style
from wf.files import make_private_dirs, write_private_file, write_shared_file

HELLO_TOML = """\
# A two-task example: the second task uses the output the first one registers.
name        = "hello"
description = "Say hello, then say who said it"

[tasks.greet]
cmd      = "echo 'Hello from wf'"
register = "greeting"

[tasks.sign]
cmd        = 'echo "$GREETING (run $WF_RUN_ID)"'
depends_on = ["greet"]
env        = { GREETING = "{{.greeting}}" }
"""


@click.command("init")
@click.option("--example", is_flag=True, help="Also write <workflows>/hello.toml.")
def command(example: bool) -> int:
    """Create the workflows directory, logs directory, database and config file.

    Safe to run again: existing files are left as they are.
    """
    from wf.config import default_config_text, load_config
    from wf.storage import Store

    app = app_context()
    config = load_config(config_path=app.config_path, home=app.home, must_exist=False)
    app._config = config
    for warning in config.warnings:
        app.diag("warn", warning)
    # The database first: it creates its missing parent directories with mode 0700, and with
    # the default paths that parent is the home directory, which would otherwise be created
    # with the umask's default mode as a side effect of creating the workflows directory.
    with Store(config.database_path):
        pass
    make_private_dirs(config.workflows_dir, 0o755)  # exact modes, whatever the umask
    make_private_dirs(config.logs_dir)
    if not config.config_path.exists():
        write_private_file(config.config_path, default_config_text())
    if example:
        hello = config.workflows_dir / "hello.toml"
        if not hello.exists():
            write_shared_file(hello, HELLO_TOML)
    style = Style()
    click.echo(style.paint(f"{style.sym('ok')} Project initialised successfully", "green"))
    click.echo(f"Config:    {config.config_path}")
    click.echo(f"Workflows: {config.workflows_dir}")
    click.echo(f"Logs:      {config.logs_dir}")
    click.echo(f"Database:  {config.database_path}")
    click.echo(f"\nNext: add a workflow to {config.workflows_dir} and run 'wf run NAME'")
    return 0
