"""``wf status``: a live view of one run, refreshed until it ends (docs/cli.md#wf-status)."""

from __future__ import annotations

import json
import time

import click

from wf.cli.context import app_context
from wf.cli.fmt import Style, render_table, table_duration
from wf.errors import UsageError
from wf.inspection import RunStatusView, run_status_view

_CLEAR = "\x1b[2J\x1b[H"


def render_status(view: RunStatusView, style: Style) -> str:
    """The ``=== LIVE STATUS  run=<id> ===`` block: run lines, task counts and the task table."""
    run = view.run
    counts = view.counts()
    tally = (
        f"{run.total_tasks} total  {counts['success']}{style.sym('ok')}  "
        f"{counts['failed']}{style.sym('fail')}  {counts['skipped']}{style.sym('skipped')}  "
        f"{counts['running']}{style.sym('running')}"
    )
    if counts["cancelled"]:
        tally += f"  {counts['cancelled']}{style.sym('cancelled')}"
    if counts["pending"] + counts["waiting"]:
        tally += f"  ({counts['pending'] + counts['waiting']} waiting)"
    lines = [
        f"=== LIVE STATUS  run={run.id} ===",
        f"Workflow: {run.workflow_name}",
        f"Status:   {style.run_status(str(run.status))}",
        f"Elapsed:  {table_duration(view.elapsed_ms)}",
        f"Tasks:    {tally}",
        "",
    ]
    if not view.tasks:
        return "\n".join([*lines, "(no task has started yet)"])
    rows = [
        (
            te.task_id,
            f"{style.task_icon(str(te.state))} {te.state}",
            te.attempt,
            table_duration(te.duration_ms),
        )
        for te in view.tasks
    ]
    return "\n".join(lines) + "\n" + render_table(["TASK", "STATUS", "ATTEMPT", "DURATION"], rows)


@click.command("status")
@click.argument("run_id")
@click.option("-j", "--json", "as_json", is_flag=True, help="One JSON object per refresh.")
@click.option(
    "--interval",
    type=float,
    default=1.0,
    show_default=True,
    metavar="SECONDS",
    help="Seconds between refreshes.",
)
def command(run_id: str, as_json: bool, interval: float) -> int:
    """Watch RUN_ID (a unique prefix is enough) until it succeeds, fails or stops.

    The view is printed at once and then every --interval seconds; a finished run is printed
    once. Each refresh first detects runs whose wf process is gone (interrupted).
    """
    if not 0 < interval < 86400:  # also rejects nan and inf
        raise UsageError(f"invalid --interval {interval}: use seconds greater than 0")
    store = app_context().store()
    run_id = store.get_run(run_id).id
    style = Style()
    first = True
    while True:
        view = run_status_view(store, run_id)
        if as_json:
            click.echo(json.dumps(view.to_dict(), ensure_ascii=False))
        else:
            # Without colour (a pipe, a dumb terminal) refreshes follow one another.
            lead = _CLEAR if style.colour else ("" if first else "\n")
            click.echo(lead + render_status(view, style))
        first = False
        if view.terminal:
            return 0
        time.sleep(interval)
        store.mark_interrupted_runs()
