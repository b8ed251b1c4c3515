"""The result block and failure summary printed after ``wf run`` and ``wf resume``.

See docs/cli.md#wf-run.
"""

from __future__ import annotations

from collections.abc import Collection

from wf.cli.fmt import Style, plural, short_id, table_duration
from wf.dag import DAG
from wf.executor.runstate import tail_lines
from wf.failure import failure_kind, node_outcomes
from wf.storage import Run, RunStatus, TaskExecution


def result_block(
    run: Run,
    dag: DAG,
    latest: dict[str, TaskExecution],
    style: Style,
    cached: Collection[str] = (),
) -> str:
    """``=== EXECUTION RESULT ===`` and its five lines."""
    outcomes = node_outcomes(dag, latest, cached)
    ok = sum(1 for v in outcomes.values() if v == "success")
    failed = sum(1 for v in outcomes.values() if v == "failed")
    skipped = sum(1 for v in outcomes.values() if v == "skipped")
    cancelled = sum(1 for v in outcomes.values() if v == "cancelled")
    not_started = sum(1 for v in outcomes.values() if v == "not_started")
    tasks = (
        f"{dag.total_tasks} total  {ok}{style.sym('ok')}  {failed}{style.sym('fail')}  "
        f"{skipped}{style.sym('skipped')}"
    )
    if cancelled:
        tasks += f"  {cancelled}{style.sym('cancelled')}"
    up_to_date = sum(1 for v in outcomes.values() if v == "cached")
    if up_to_date:
        tasks += f"  {up_to_date} up to date"
    if not_started:
        tasks += f"  ({not_started} not started)"
    return "\n".join(
        [
            "=== EXECUTION RESULT ===",
            f"Run ID:   {run.id}",
            f"Workflow: {run.workflow_name}",
            f"Status:   {style.run_status(str(run.status))}",
            f"Duration: {table_duration(run.duration_ms)}",
            f"Tasks:    {tasks}",
        ]
    )


def failure_summary(
    run: Run,
    dag: DAG,
    latest: dict[str, TaskExecution],
    style: Style,
    *,
    cause_attempts: int | None = None,
    cached: Collection[str] = (),
) -> str:
    """Root cause first, with its error, log and last lines; then the others; resume hint."""
    lines: list[str] = []
    outcomes = node_outcomes(dag, latest, cached)
    cause = run.failed_task
    row = latest.get(cause) if cause else None
    if cause and row is not None:
        name = dag.nodes[cause].name if cause in dag.nodes else cause
        label = f"{cause} ({name})" if name != cause else cause
        attempts = plural(cause_attempts or row.attempt, "attempt")
        lines.append(f"Root cause: {label} {style.sym('dash')} {failure_kind(row)} ({attempts})")
        lines.append(f"Error:      {row.error_message or '-'}")
        if row.log_path:
            lines.append(f"Log:        {row.log_path}")
            tail = tail_lines(row.log_path)
            for line in (tail or "").splitlines():
                lines.append(f"  | {line}")
    elif run.error:
        lines.append(f"Error:      {run.error}")
    also = [
        f"{n} (ignored)" if n in dag.nodes and dag.nodes[n].task.ignore_failure else n
        for n, v in outcomes.items()
        if v == "failed" and n != cause
    ]
    cancelled = [n for n, v in outcomes.items() if v == "cancelled"]
    not_started = [n for n, v in outcomes.items() if v == "not_started"]
    extra = []
    if also:
        extra.append(f"Also failed: {_names(also)}")
    if cancelled:
        extra.append(f"Cancelled: {_names(cancelled)}")
    if not_started:
        extra.append(f"Not started: {_names(not_started)}")
    if extra:
        lines.append("   ".join(extra))
    if run.status in (RunStatus.FAILED, RunStatus.CANCELLED):
        lines.append(f"Resume with: wf resume {short_id(run.id)}")
    return "\n".join(lines)


def _names(nodes: list[str], limit: int = 8) -> str:
    shown = ", ".join(nodes[:limit])
    return shown + (f" (+{len(nodes) - limit} more)" if len(nodes) > limit else "")
