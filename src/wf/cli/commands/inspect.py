"""``wf inspect``: everything stored about one run, as text sections or JSON.

See docs/cli.md#wf-inspect.
"""

from __future__ import annotations

import json

import click

from wf.cli.context import app_context
from wf.cli.fmt import Style, cut, local_time, render_table, short_id, table_duration
from wf.inspection import Inspection, cached_nodes, inspect_run

ERROR_WIDTH = 60
VALUE_WIDTH = 48
LOG_LINES = 10
_FMT = "%Y-%m-%d %H:%M:%S"


def clip(text: str | None, width: int, style: Style) -> str:
    """TEXT on one line, cut to WIDTH with an ellipsis (``...`` without unicode)."""
    if style.unicode:
        return cut(text, width)
    line = " ".join(str(text or "").split())
    return line if len(line) <= width else line[: max(0, width - 3)] + "..."


def _metadata(insp: Inspection, style: Style) -> list[str]:
    run = insp.run
    cause = "-"
    if run.failed_task:
        row = next((te for te in insp.latest if te.task_id == run.failed_task), None)
        cause = run.failed_task
        if row is not None and row.error_message:
            cause += f" {style.sym('dash')} {clip(row.error_message, ERROR_WIDTH, style)}"
    resumes = str(run.resume_count)
    if run.last_resume_time is not None:
        resumes += f" (last {local_time(run.last_resume_time, _FMT)})"
    fields = [
        ("Run ID", run.id),
        ("Workflow", run.workflow_name),
        ("File", run.workflow_file),
        ("Status", style.run_status(str(run.status))),
        ("Mode", str(run.execution_mode)),
        ("Max Parallel", str(run.max_parallel)),
        ("Started", local_time(run.start_time, _FMT)),
        ("Ended", local_time(run.end_time, _FMT)),
        ("Duration", table_duration(run.duration_ms)),
        (
            "Tasks",
            f"{run.total_tasks} total, {run.tasks_success} success, {run.tasks_failed} failed, "
            f"{run.tasks_skipped} skipped (attempts)"
            + (f", {run.tasks_cached} up to date" if run.tasks_cached else ""),
        ),
        ("Resumes", resumes),
        ("Tags", ", ".join(run.tags) or "-"),
        ("Owner", f"{run.owner_pid}@{run.owner_host}" if run.owner_pid is not None else "-"),
        ("Last Heartbeat", local_time(run.heartbeat_at, _FMT)),
        ("Error", " ".join((run.error or "-").split())),
        ("Root Cause", cause),
    ]
    return [f"{label + ':':<16}{value}" for label, value in fields]


def _tasks(insp: Inspection, style: Style) -> list[str]:
    cached = cached_nodes(insp.latest, insp.cached)
    if not insp.latest and not cached:
        return ["(no task executions)"]
    rows: list[tuple[object, ...]] = []
    for te in insp.latest:
        if te.task_id in cached:
            continue
        error = clip(te.error_message, ERROR_WIDTH, style) or "-"
        if te.output_truncated:
            error += " +trunc"
        rows.append(
            (
                te.task_id,
                f"{style.task_icon(str(te.state))} {te.state}",
                table_duration(te.duration_ms),
                te.attempt,
                "-" if te.exit_code is None else te.exit_code,
                error,
            )
        )
    for hit in cached.values():
        rows.append(
            (
                hit.task_id,
                f"{style.task_icon('cached')} cached",
                "-",
                "-",
                "-",
                f"up to date (as of run {short_id(hit.source_run_id)})",
            )
        )
    headers = ["TASK", "STATUS", "DURATION", "ATTEMPT", "EXIT CODE", "ERROR"]
    return render_table(headers, rows).splitlines()


def _variables(insp: Inspection, style: Style) -> list[str]:
    if not insp.variables:
        return ["(no variables)"]
    rows = [
        (
            v.variable_name,
            v.variable_type,
            clip(v.variable_value, VALUE_WIDTH, style) or '""',
            v.set_by_task,
        )
        for v in insp.variables
    ]
    return render_table(["NAME", "TYPE", "VALUE", "SET BY"], rows).splitlines()


def _forensic(insp: Inspection, style: Style) -> list[str]:
    if not insp.forensic_logs:
        return ["(no forensic logs)"]
    out: list[str] = []
    for log in insp.forensic_logs:
        head = f"[{local_time(log.created_at, '%H:%M:%S')}] {log.log_type}  {log.task_id or 'run'}"
        if log.triggered_by:
            head += f"  triggered by {log.triggered_by}"
        out.append(head)
        if log.trigger_reason:
            out.append(f"  reason: {clip(log.trigger_reason, 70, style)}")
        lines = log.log_data.splitlines()
        out.extend(f"  | {clip(line, 74, style)}" for line in lines[:LOG_LINES])
        if len(lines) > LOG_LINES:
            out.append(f"  | ({len(lines) - LOG_LINES} more lines; see wf export)")
    return out


def _dag(insp: Inspection) -> list[str]:
    cache = insp.dag_cache
    if cache is None:
        return ["(no DAG recorded for this run)"]
    return [
        f"Nodes:           {cache.total_nodes}",
        f"Levels:          {cache.total_levels}",
        f"Parallel tasks:  {'yes' if cache.has_parallel_tasks else 'no'}",
    ]


def render_inspection(insp: Inspection, style: Style) -> str:
    """The five text sections of ``wf inspect``."""
    sections = [
        ("=== RUN METADATA ===", _metadata(insp, style)),
        ("=== TASKS ===", _tasks(insp, style)),
        ("=== CONTEXT VARIABLES ===", _variables(insp, style)),
        ("=== FORENSIC LOGS ===", _forensic(insp, style)),
        ("=== DAG STRUCTURE ===", _dag(insp)),
    ]
    return "\n\n".join("\n".join([title, *body]) for title, body in sections)


@click.command("inspect")
@click.argument("run_id")
@click.option("-j", "--json", "as_json", is_flag=True, help="Print the full record as JSON.")
def command(run_id: str, as_json: bool) -> int:
    """Show everything stored about RUN_ID (a unique prefix is enough).

    Sections: run metadata, each task's latest attempt, context variables, forensic logs and
    the DAG structure. --json prints every attempt row and the parsed DAG.
    """
    insp = inspect_run(app_context().store(), run_id)
    if as_json:
        click.echo(json.dumps(insp.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_inspection(insp, Style()))
    return 0
