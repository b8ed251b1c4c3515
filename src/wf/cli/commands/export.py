"""``wf export``: everything stored about one run, as JSON or a tarball with logs.

See docs/cli.md#wf-export.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from wf.cli.context import app_context
from wf.cli.fmt import Style, plural
from wf.errors import UsageError
from wf.export import EXPORT_FORMATS, export_payload, payload_json, write_json, write_tar

TAR_SUFFIXES = (".tar.gz", ".tgz")


def export_format(fmt: str | None, output: str | None) -> str:
    """The format asked for (``tar.gz``/``tgz`` mean tar), else the one OUTPUT's name implies."""
    if fmt is not None:
        fmt = fmt.lower()
        return "tar" if fmt in ("tar.gz", "tgz") else fmt
    if output is not None and output.lower().endswith(TAR_SUFFIXES):
        return "tar"
    return "json"


@click.command("export")
@click.argument("run_id")
@click.option(
    "-f",
    "--format",
    "fmt",
    default=None,
    metavar="FORMAT",
    help="json or tar (alias tar.gz: a .tar.gz with run.json and the attempt logs). "
    "Default: from the --output extension (.json, .tar.gz, .tgz), else json.",
)
@click.option("-o", "--output", metavar="FILE", help="Write to FILE (required for tar).")
def command(run_id: str, fmt: str | None, output: str | None) -> int:
    """Export RUN_ID (a unique prefix is enough): run, tasks, variables, audit trail, DAG.

    JSON goes to stdout unless --output is given; -o run.tar.gz (or .tgz) writes a tarball.
    Written files get mode 0600; missing parent directories are created with mode 0700.
    """
    fmt = export_format(fmt, output)
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unsupported format: {fmt} (choose from {', '.join(EXPORT_FORMATS)})")
    if fmt == "tar" and not output:
        raise UsageError("--output is required for tar format")
    store = app_context().store()
    payload = export_payload(store, run_id)
    run_id = payload["run"]["id"]
    arrow = Style(sys.stderr).sym("arrow")
    if fmt == "tar":
        assert output is not None
        rows = store.list_task_executions(run_id=run_id)
        run_log_dir = Path(app_context().config.logs_dir) / run_id
        result = write_tar(payload, rows, Path(output), run_log_dir)
        click.echo(
            f"exported run {run_id} {arrow} {result.path} "
            f"({plural(result.tasks, 'task execution')}, {plural(result.logs, 'log file')})",
            err=True,
        )
    elif output:
        write_json(payload, Path(output))
        click.echo(f"exported run {run_id} {arrow} {output}", err=True)
    else:
        click.echo(payload_json(payload), nl=False)
    return 0
