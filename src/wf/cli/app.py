"""The click group: global options, lazily imported commands, and error handling."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
from typing import Any

import click

from wf._version import __version__
from wf.cli import imports_done
from wf.cli.context import AppContext, configure_logging
from wf.cli.exitcodes import ExitCode, classify
from wf.errors import UsageError

# command name -> (module under wf.cli.commands, one-line summary). Each module defines
# `command`. The summaries live here so that `wf --help` lists the commands without importing
# them (start-up time); each command's own short help is set from the same text.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("init", "Create the workflows and logs directories, database and config file."),
    "validate": ("validate", "Check one workflow, or every workflow in the workflows directory."),
    "run": ("run", "Run a workflow (or print its plan with --dry-run)."),
    "resume": ("resume", "Finish a failed, cancelled or interrupted run."),
    "list": ("list_", "List the workflows in the workflows directory."),
    "runs": ("runs", "List past runs with a summary; filter, sort, export as JSON."),
    "logs": ("logs", "Show the logs of a run or of one task; follow them with -f."),
    "graph": ("graph", "Draw a workflow's DAG: ascii, dot, mermaid, json or html."),
    "inspect": ("inspect", "Show everything recorded about a run."),
    "status": ("status", "Watch a run live until it ends."),
    "audit": ("audit", "Show the audit trail of a run."),
    "diff": ("diff", "Compare two runs task by task and variable by variable."),
    "export": ("export", "Export a run as JSON, or as a tar.gz with its logs."),
    "health": ("health", "Check the database, stale runs, workflows and disk usage."),
    "schema": ("schema", "Print the JSON Schema of workflow files, for editors."),
    "ui": ("ui", "Serve the read-only web UI: history, live graphs, logs (extra 'ui')."),
    "cache": ("cache", "Clear the records of incremental runs (tasks with inputs)."),
}

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if self._module_exists(name)]

    @staticmethod
    def _module_exists(name: str) -> bool:
        return importlib.util.find_spec(f"wf.cli.commands.{COMMANDS[name][0]}") is not None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands from their summaries, without importing them."""
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            # Remember the subcommand so that the error can point at its --help.
            exc.command = exc.command or ctx.invoked_subcommand or ""
            raise

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None or not self._module_exists(cmd_name):
            return None
        module = importlib.import_module(f"wf.cli.commands.{entry[0]}")
        imports_done()
        command: click.Command = module.command
        command.short_help = entry[1]
        return command


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.option("--config", "config_path", metavar="PATH", help="Config file to use.")
@click.option("--home", metavar="DIR", help="Home directory: config, workflows, logs, database.")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warn", "error"]),
    help="Diagnostics level on stderr (default: warn).",
)
@click.option("-v", "--verbose", is_flag=True, help="Same as --log-level debug.")
@click.version_option(__version__, "--version", prog_name="wf", message="%(prog)s %(version)s")
@click.pass_context
def cli(
    ctx: click.Context,
    config_path: str | None,
    home: str | None,
    log_level: str | None,
    verbose: bool,
) -> None:
    """wf: run a DAG of shell tasks from a TOML file, with history in SQLite.

    \b
    Quick start:
      wf init --example        create the home, config, database and hello.toml
      wf run hello             run it (live progress, logs, history)
      wf runs                  list past runs
      wf logs RUN_ID           show the logs of a run
    """
    level = "debug" if verbose else log_level
    configure_logging(level or os.environ.get("WF_LOG_LEVEL") or "warn")
    ctx.obj = AppContext(
        config_path=config_path,
        home=home,
        log_level="debug" if verbose else log_level,
    )
    ctx.call_on_close(ctx.obj.close)


def _command_name(exc: click.ClickException) -> str:
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and ctx.parent is not None and ctx.command.name:
        return str(ctx.command_path).removeprefix("wf").strip() or ctx.command.name
    # An error at the top level (unknown command or global option) points at `wf --help`.
    return ""


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


JSON_ERROR_COMMANDS = ("run", "resume")


def _wants_json_errors(argv: list[str]) -> bool:
    """``wf run … --json`` and ``wf resume … --json``: errors also go to stdout as JSON."""
    words = argv[: argv.index("--")] if "--" in argv else argv
    command = next((arg for arg in words if arg in COMMANDS), None)
    return command in JSON_ERROR_COMMANDS and "--json" in words


def _json_error(code: int, lines: list[str]) -> None:
    """The JSON error document of ``run --json``/``resume --json`` (docs/json.md), on stdout."""
    import json

    messages = [line.removeprefix("Error: ") for line in lines if line.startswith("Error: ")]
    details = [line.strip().removeprefix("- ") for line in lines if line.startswith("  - ")]
    document: dict[str, Any] = {"error": messages[0] if messages else "error", "exit_code": code}
    if details:
        document["errors"] = details
    with contextlib.suppress(BrokenPipeError, ValueError):
        click.echo(json.dumps(document, ensure_ascii=False))


def invoke(argv: list[str]) -> int:
    """Run the group with ARGV; map every outcome to an exit code (the one place that does)."""
    json_errors = _wants_json_errors(argv)
    lines: list[str] = []
    code = _invoke(argv, lines)
    if json_errors and code != ExitCode.OK and lines:
        _json_error(code, lines)
    return code


def _invoke(argv: list[str], errors: list[str]) -> int:
    """``invoke`` proper; the error lines it prints are also appended to ERRORS."""

    def report(line: str) -> None:
        errors.append(line)
        click.echo(line, err=True)

    undecodable = next((arg for arg in argv if not _is_utf8(arg)), None)
    if undecodable is not None:
        # Bytes that are not UTF-8 arrive as lone surrogates; SQLite cannot store them.
        report(f"Error: argument is not valid UTF-8: {undecodable!r}")
        report("Run 'wf --help' for usage.")
        return ExitCode.USAGE
    try:
        result: Any = cli.main(args=argv, prog_name="wf", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.UsageError as exc:
        # Click >= 8.2 reports a bare `wf` as an "error" whose message is the whole help text.
        no_command = type(exc).__name__ == "NoArgsIsHelpError"
        message = "Missing command." if no_command else exc.format_message()
        report(f"Error: {message}")
        name = _command_name(exc)
        hint = f"wf {name} --help" if name and name != "wf" else "wf --help"
        report(f"Run '{hint}' for usage.")
        return ExitCode.USAGE
    except click.Abort:
        report("Error: interrupted")
        return ExitCode.INTERRUPTED
    except click.ClickException as exc:
        report(f"Error: {exc.format_message()}")
        return exc.exit_code
    except BrokenPipeError:
        sys.stderr.close()
        return ExitCode.FAILURE
    except BaseException as exc:
        if isinstance(exc, SystemExit):
            return int(exc.code) if isinstance(exc.code, int) else ExitCode.FAILURE
        code, lines = classify(exc)
        for line in lines:
            report(line)
        return code
    return int(result) if isinstance(result, int) else ExitCode.OK
