"""``wf runs``: the run history, filtered, sorted and summarised."""

from __future__ import annotations

import json
from typing import Any

import click

from wf.cli.context import app_context
from wf.cli.dates import local_day_end, local_day_start
from wf.cli.fmt import Style, cut, local_time, render_table, short_id, table_duration
from wf.errors import UsageError
from wf.history import SORTS, SQL_INT_MAX, RunFilters, RunPage, history_document, list_history
from wf.inspection import cached_nodes
from wf.jsontext import dumps_indented
from wf.storage import Run, RunStatus, RunSummary, Store

ATTEMPTS_NOTE = (
    "SUCCESS, FAILED and SKIPPED count attempts: a task that failed once and then succeeded "
    "adds 1 to each of FAILED and SUCCESS."
)


def summary_box(summary: RunSummary, *, unicode: bool = True) -> str:
    """The ``WORKFLOW RUNS SUMMARY`` box (ASCII lines where the terminal can't show others)."""
    rate = f"{summary.success_rate * 100:.1f}%" if summary.finished else "-"
    lines = [
        f"Total Runs: {summary.total_runs}",
        f"Success: {summary.success}   Failed: {summary.failed}   Running: "
        f"{summary.running + summary.resuming}   Cancelled: {summary.cancelled}   "
        f"Interrupted: {summary.interrupted}",
        f"Success Rate: {rate}",
        f"Avg Duration: {table_duration(summary.avg_duration_ms if summary.total_runs else None)}"
        f"   Total Duration: {table_duration(summary.total_duration_ms)}",
        f"Avg Tasks/Run: {summary.avg_tasks:.1f}",
    ]
    title = "WORKFLOW RUNS SUMMARY"
    width = max(len(title), *(len(line) for line in lines)) + 2
    tl, tr, ml, mr, bl, br, h, v = list("┌┐├┤└┘─│" if unicode else "++++++-|")
    out = [tl + h * width + tr, f"{v} " + title.ljust(width - 1) + v, ml + h * width + mr]
    out += [f"{v} " + line.ljust(width - 1) + v for line in lines]
    out.append(bl + h * width + br)
    return "\n".join(out)


def _detailed(run: Run, store: Store, style: Style) -> str:
    cache = store.get_dag_cache(run.id)
    fields = [
        ("Run ID", run.id),
        ("Workflow", run.workflow_name),
        ("File", run.workflow_file),
        ("Status", style.run_status(str(run.status))),
        ("Mode", f"{run.execution_mode} (max_parallel {run.max_parallel})"),
        ("Started", local_time(run.start_time, "%Y-%m-%d %H:%M:%S")),
        ("Ended", local_time(run.end_time, "%Y-%m-%d %H:%M:%S")),
        ("Duration", table_duration(run.duration_ms)),
        (
            "Tasks",
            f"{run.total_tasks} total, {run.tasks_success} success, "
            f"{run.tasks_failed} failed, {run.tasks_skipped} skipped (attempts)"
            + (f", {run.tasks_cached} up to date" if run.tasks_cached else ""),
        ),
        (
            "Resumes",
            f"{run.resume_count}"
            + (f" (last {local_time(run.last_resume_time)})" if run.resume_count else ""),
        ),
        ("Tags", ", ".join(run.tags) or "-"),
        ("Owner", f"{run.owner_pid}@{run.owner_host}" if run.owner_pid else "-"),
        ("DAG", f"{cache.total_nodes} nodes, {cache.total_levels} levels" if cache else "-"),
        ("Error", run.error or "-"),
    ]
    width = max(len(k) for k, _ in fields)
    body = [f"  {k.ljust(width)}  {v}" for k, v in fields]
    return "\n".join([f"── run {short_id(run.id)} " + "─" * 40, *body])


def _node_ids(store: Store, run_id: str) -> list[str]:
    """The run's node IDs in execution order, from its DAG cache (empty when absent)."""
    cache = store.get_dag_cache(run_id)
    if cache is None:
        return []
    try:
        nodes = json.loads(cache.dag_json).get("nodes", [])
        return [str(node["id"]) for node in nodes]
    except (ValueError, TypeError, KeyError, AttributeError):
        return []


def _run_tasks(run: Run, store: Store, style: Style, *, failed_only: bool) -> str:
    """``--tasks``: each node's latest row, and the nodes that never started; ``--logs``: the
    failed ones with their exit code, error and log."""
    head = f"{short_id(run.id)}  {run.workflow_name}  {style.run_status(str(run.status))}"
    rows = store.latest_task_executions(run.id, include_forensic=False)
    if failed_only:
        failed = [te for te in rows if str(te.state) == "failed"]
        if not failed:
            return head + "\n  (no failed tasks)"
        cells: list[tuple[object, ...]] = [
            (
                f"  {te.task_id}",
                "-" if te.exit_code is None else te.exit_code,
                cut(te.error_message, 60) or "-",
                te.log_path or "-",
            )
            for te in failed
        ]
        return head + "\n" + render_table(["  TASK", "EXIT CODE", "ERROR", "LOG"], cells)
    cached = cached_nodes(rows, store.list_cache_hits(run.id)) if run.tasks_cached else {}
    cells = [
        (
            f"  {te.task_id}",
            f"{style.task_icon(str(te.state))} {te.state}",
            te.attempt,
            table_duration(te.duration_ms),
        )
        for te in rows
        if te.task_id not in cached
    ]
    seen = {te.task_id for te in rows}
    cells += [
        (f"  {node_id}", f"{style.task_icon('pending')} not started", "-", "-")
        for node_id in _node_ids(store, run.id)
        if node_id not in seen and node_id not in cached
    ]
    cells += [(f"  {node}", f"{style.task_icon('cached')} cached", "-", "-") for node in cached]
    return head + "\n" + render_table(["  TASK", "STATUS", "ATTEMPT", "DURATION"], cells)


@click.command("runs")
@click.option("-w", "--workflow", metavar="NAME", help="Only runs of workflow NAME.")
@click.option("-s", "--status", metavar="STATUS", help="Only runs with this status.")
@click.option("--tag", metavar="TAG", help="Only runs whose workflow has this tag.")
@click.option("--start-date", metavar="YYYY-MM-DD", help="Runs started on or after this day.")
@click.option("--end-date", metavar="YYYY-MM-DD", help="Runs started on or before this day.")
@click.option("--min-duration", metavar="DURATION", help="Runs that took at least DURATION.")
@click.option("-l", "--limit", type=int, default=10, show_default=True, help="0 for all.")
@click.option("-o", "--offset", type=int, default=0, help="Skip this many runs.")
@click.option(
    "-S",
    "--sort",
    "sort",
    default="time",
    metavar="KEY",
    help="time (default), name, workflow, duration, tasks or status.",
)
@click.option("-j", "--json", "as_json", is_flag=True, help="Print summary and runs as JSON.")
@click.option("-d", "--detailed", is_flag=True, help="One box per run with every field.")
@click.option("--stats", is_flag=True, help="Only the summary.")
@click.option("--timeline", is_flag=True, help="One line per run, no summary.")
@click.option(
    "--tasks",
    "show_tasks",
    is_flag=True,
    help="Per run, each task's latest state (and tasks never started).",
)
@click.option(
    "--logs", "show_logs", is_flag=True, help="Per run, the failed tasks: exit code, error and log."
)
def command(
    workflow: str | None,
    status: str | None,
    tag: str | None,
    start_date: str | None,
    end_date: str | None,
    min_duration: str | None,
    limit: int,
    offset: int,
    sort: str,
    as_json: bool,
    detailed: bool,
    stats: bool,
    timeline: bool,
    show_tasks: bool,
    show_logs: bool,
) -> int:
    """List past runs, newest first, with a summary of all matching runs.

    The SUCCESS, FAILED and SKIPPED columns count attempts, not tasks.
    """
    if status is not None and status not in {s.value for s in RunStatus}:
        raise UsageError(f"invalid status: {status}")
    if sort not in SORTS:
        raise UsageError(f"invalid sort key: {sort} (choose from {', '.join(SORTS)})")
    if limit < 0 or offset < 0:
        raise UsageError("--limit and --offset must be >= 0")
    if max(limit, offset) > SQL_INT_MAX:
        raise UsageError(f"--limit and --offset must be at most {SQL_INT_MAX}")
    filters: dict[str, Any] = {"workflow": workflow, "status": status, "tag": tag}
    if start_date:
        filters["start_after"] = local_day_start(start_date, "--start-date")
    if end_date:
        filters["start_before"] = local_day_end(end_date, "--end-date")
    if min_duration:
        from wf.cli.session import parse_timeout

        seconds = parse_timeout(min_duration, "--min-duration") or 0
        filters["min_duration_ms"] = round(seconds * 1000)
    store = app_context().store()
    if as_json:
        page = RunPage(limit, offset, sort)
        click.echo(dumps_indented(history_document(store, RunFilters(**filters), page)))
        return 0
    listing = list_history(store, RunFilters(**filters), RunPage(limit, offset, sort))
    summary, runs = listing.summary, listing.runs
    if summary.total_runs == 0:
        click.echo("No runs found matching the criteria")
        return 0
    style = Style()
    if timeline:
        for run in runs:
            click.echo(
                f"[{local_time(run.start_time, '%Y-%m-%d %H:%M:%S')}] "
                f"{style.run_status(str(run.status)).split(' ')[0]} {run.workflow_name} "
                f"({str(run.status).upper()}) {table_duration(run.duration_ms)} - "
                f"{short_id(run.id)}"
            )
        return 0
    click.echo(summary_box(summary, unicode=style.unicode))
    if stats:
        return 0
    click.echo("")
    if detailed:
        click.echo("\n\n".join(_detailed(run, store, style) for run in runs))
    elif show_tasks or show_logs:
        for run in runs:
            click.echo(_run_tasks(run, store, style, failed_only=show_logs) + "\n")
    else:
        table = [
            (
                short_id(run.id),
                run.workflow_name,
                style.run_status(str(run.status)),
                local_time(run.start_time),
                table_duration(run.duration_ms),
                run.total_tasks,
                run.tasks_success,
                run.tasks_failed,
                run.tasks_skipped,
                run.tasks_cached,
            )
            for run in runs
        ]
        click.echo(
            render_table(
                [
                    "RUN ID",
                    "WORKFLOW",
                    "STATUS",
                    "STARTED AT",
                    "DURATION",
                    "TASKS",
                    "SUCCESS",
                    "FAILED",
                    "SKIPPED",
                    "CACHED",
                ],
                table,
            )
        )
        click.echo(ATTEMPTS_NOTE)
    shown_to = offset + len(runs)
    if summary.total_runs > len(runs):
        click.echo(
            f"\nShowing {offset + 1 if runs else 0}-{shown_to} of {summary.total_runs} runs"
            " (use --limit 0 for all)"
        )
    return 0
