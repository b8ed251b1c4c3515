"""``wf logs``: the logs of a run, of one task, or followed live."""

from __future__ import annotations

import time

import click

from wf.cli.context import app_context
from wf.cli.exitcodes import ExitCode
from wf.cli.fmt import cut, local_time, render_table, table_duration
from wf.logs import FollowedFile, read_lines
from wf.storage import TERMINAL_RUN_STATUSES, Run, Store, TaskExecution

FOLLOW_INTERVAL = 0.2
_FMT = "%Y-%m-%d %H:%M:%S"


def _select(
    rows: list[TaskExecution], task: str | None, attempt: int | None
) -> list[TaskExecution]:
    if task is not None:
        rows = [r for r in rows if r.task_id == task or r.task_id.split("[", 1)[0] == task]
    if attempt is not None:
        rows = [r for r in rows if r.attempt == attempt]
    return rows


def _print_log(row: TaskExecution, prefix: str, tail: int) -> None:
    lines = read_lines(row.log_path, tail)
    if lines is None:
        click.echo(f"{prefix}(No logs recorded)")
    elif isinstance(lines, str):
        click.echo(f"{prefix}(Unable to read log: {lines})")
    else:
        for line in lines:
            click.echo(f"{prefix}{line}")


def _whole_run(run: Run, rows: list[TaskExecution], tail: int) -> None:
    click.echo(f"=== Logs for Run '{run.id}' ({run.workflow_name}) ===")
    for row in rows:
        p = f"[{row.task_id}] "
        code = "N/A" if row.exit_code is None else row.exit_code
        click.echo(f"\n{p}Attempt {row.attempt} | Status: {row.state} | Exit Code: {code}")
        if row.error_message:
            click.echo(f"{p}Last Error: {row.error_message}")
        if row.output_truncated:
            click.echo(f"{p}(log truncated: {row.output_truncated} bytes discarded)")
        _print_log(row, p, tail)


def _one_task(run: Run, task: str, rows: list[TaskExecution], tail: int) -> None:
    latest = rows[-1]
    click.echo(f"=== Logs for Task '{task}' in Run '{run.id}' ===")
    click.echo(f"Status:    {latest.state}")
    click.echo(f"Attempts:  {len(rows)}")
    click.echo(f"Started:   {local_time(latest.start_time, _FMT)}")
    click.echo(f"Ended:     {local_time(latest.end_time, _FMT)}")
    duration = "-" if latest.duration_ms is None else f"{latest.duration_ms / 1000:.3f}s"
    click.echo(f"Duration:  {duration}")
    click.echo(f"Exit Code: {'N/A' if latest.exit_code is None else latest.exit_code}")
    click.echo("--- Attempts ---")
    several = len({r.task_id for r in rows}) > 1
    headers = ["TASK"] if several else []
    headers += ["ATTEMPT", "STATUS", "EXIT CODE", "DURATION", "ERROR"]
    cells: list[list[object]] = [
        ([row.task_id] if several else [])
        + [
            row.attempt,
            row.state,
            "N/A" if row.exit_code is None else row.exit_code,
            table_duration(row.duration_ms),
            cut(row.error_message, 80) or "-",
        ]
        for row in rows
    ]
    click.echo(render_table(headers, cells))
    click.echo("--- Output ---")
    for row in rows:
        label = (
            f"[Attempt {row.attempt}] "
            if len({r.task_id for r in rows}) == 1
            else (f"[{row.task_id} Attempt {row.attempt}] ")
        )
        _print_log(row, label, tail)
    if latest.error_message:
        click.echo("--- Error ---")
        click.echo(latest.error_message)


def _follow(store: Store, run_id: str, task: str | None, attempt: int | None) -> int:
    followed: dict[int, FollowedFile] = {}
    while True:
        run = store.get_run(run_id)
        terminal = run.status in TERMINAL_RUN_STATUSES
        for row in _select(store.list_task_executions(run_id=run_id), task, attempt):
            if row.log_path and row.id not in followed:
                followed[row.id] = FollowedFile(row.log_path, f"[{row.task_id}#{row.attempt}] ")
        for ff in followed.values():
            for line in ff.read_new():
                click.echo(f"{ff.label}{line}")
        if terminal:
            for ff in followed.values():
                for line in ff.read_new() + ff.flush():
                    click.echo(f"{ff.label}{line}")
            return 0
        time.sleep(FOLLOW_INTERVAL)
        store.mark_interrupted_runs()


@click.command("logs")
@click.argument("run_id")
@click.argument("task", required=False)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new output until the run ends.")
@click.option(
    "-n",
    "--tail",
    type=int,
    default=100,
    show_default=True,
    help="Lines per attempt; 0 prints whole files.",
)
@click.option("--attempt", type=int, metavar="N", help="Only attempt N.")
def command(run_id: str, task: str | None, follow: bool, tail: int, attempt: int | None) -> int:
    """Show the logs of RUN_ID (a unique prefix is enough), or of one TASK in it.

    TASK is a node ID, or a matrix task name for all of its expansions.
    """
    store = app_context().store()
    run = store.get_run(run_id)
    rows = store.list_task_executions(run_id=run.id)
    if task is not None and not _select(rows, task, None):
        click.echo(f"Error: task '{task}' not found in run '{run.id}'", err=True)
        return ExitCode.FAILURE
    if follow:
        try:
            return _follow(store, run.id, task, attempt)
        except KeyboardInterrupt:
            return ExitCode.INTERRUPTED
    selected = _select(rows, task, attempt)
    if not rows:
        click.echo(f"No task executions found for run '{run.id}'")
        return 0
    if not selected:  # only --attempt can leave nothing selected here
        where = f"for {task}" if task is not None else f"in run '{run.id}'"
        click.echo(f"Error: attempt {attempt} not found {where}", err=True)
        return ExitCode.FAILURE
    if task is None:
        _whole_run(run, selected, tail)
    else:
        _one_task(run, task, selected, tail)
    return 0
