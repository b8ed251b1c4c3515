"""The failure summary of a finished run as data: root cause first, then the other nodes.

It is what ``wf run`` prints after a failed run (docs/cli.md, "Failure summary"), for readers
that draw it themselves, such as the web UI.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from wf.dag.model import DAG
from wf.logs import read_lines
from wf.storage import Run, RunStatus, TaskExecution, TaskStatus

#: Lines of the root cause's log shown under it.
TAIL_LINES = 10


def node_outcomes(
    dag: DAG, latest: dict[str, TaskExecution], cached: Collection[str] = ()
) -> dict[str, str]:
    """The final outcome per node: success, failed, skipped, cancelled, cached (up to date,
    docs/caching.md: no attempt row) or not_started."""
    out: dict[str, str] = {}
    for node_id in dag.sequential_order():
        row = latest.get(node_id)
        if row is None and node_id in cached:
            out[node_id] = "cached"
        elif row is None or row.state in (TaskStatus.PENDING, TaskStatus.READY):
            out[node_id] = "not_started"
        elif row.state is TaskStatus.RUNNING:
            out[node_id] = "cancelled"
        else:
            out[node_id] = str(row.state)
    return out


def failure_kind(row: TaskExecution) -> str:
    """How a failed or cancelled attempt ended, in words: ``exit code 2``, ``timed out after
    1s``, ``failed before start: …``, ``output registration failed: …`` or ``cancelled``."""
    error = row.error_message or ""
    if row.state is TaskStatus.CANCELLED:
        return "cancelled"
    if error.startswith("timed out"):
        return error
    if row.exit_code is None:
        return f"failed before start: {error}" if error else "failed before start"
    if row.exit_code == 0:
        return f"output registration failed: {error.removeprefix('failed to register output: ')}"
    if row.exit_code < 0:
        return error or "did not run to an exit status"
    return f"exit code {row.exit_code}"


@dataclass
class FailureSummary:
    """Why a run failed: the root cause's attempt, its log tail, and the other outcomes."""

    root_cause: str | None = None
    root_name: str | None = None
    kind: str | None = None
    """How the root cause's attempt ended (``failure_kind``)."""
    exit_code: int | None = None
    attempts: int = 0
    error: str | None = None
    log_path: str | None = None
    last_lines: list[str] = field(default_factory=list)
    also_failed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    not_started: list[str] = field(default_factory=list)
    resumable: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready."""
        return {
            "root_cause": self.root_cause,
            "root_name": self.root_name,
            "kind": self.kind,
            "exit_code": self.exit_code,
            "attempts": self.attempts,
            "error": self.error,
            "log_path": self.log_path,
            "last_lines": list(self.last_lines),
            "also_failed": list(self.also_failed),
            "cancelled": list(self.cancelled),
            "not_started": list(self.not_started),
            "resumable": self.resumable,
        }


def failure_summary(
    run: Run,
    dag: DAG,
    rows: Iterable[TaskExecution],
    *,
    cached: Collection[str] = (),
    tail: int = TAIL_LINES,
) -> FailureSummary | None:
    """The summary of a failed or cancelled RUN (None for any other status).

    ROWS are the run's attempt rows (all of them, or the latest per node); the latest per node
    decides each outcome. The root cause is the run's ``failed_task``; without one, the run's
    error stands alone.
    """
    if run.status not in (RunStatus.FAILED, RunStatus.CANCELLED):
        return None
    latest: dict[str, TaskExecution] = {}
    for row in rows:
        seen = latest.get(row.task_id)
        if seen is None or row.id > seen.id:
            latest[row.task_id] = row
    summary = FailureSummary(error=run.error, resumable=True)
    cause = run.failed_task
    cause_row = latest.get(cause) if cause else None
    if cause and cause_row is not None:
        row = cause_row
        summary.root_cause = cause
        summary.root_name = dag.nodes[cause].name if cause in dag.nodes else cause
        summary.kind = failure_kind(row)
        summary.exit_code = row.exit_code
        summary.attempts = row.attempt
        summary.error = row.error_message
        summary.log_path = row.log_path
        lines = read_lines(row.log_path, tail) if row.log_path else None
        summary.last_lines = lines if isinstance(lines, list) else []
    outcomes = node_outcomes(dag, latest, cached)
    summary.also_failed = [
        f"{n} (ignored)" if n in dag.nodes and dag.nodes[n].task.ignore_failure else n
        for n, v in outcomes.items()
        if v == "failed" and n != cause
    ]
    summary.cancelled = [n for n, v in outcomes.items() if v == "cancelled"]
    summary.not_started = [n for n, v in outcomes.items() if v == "not_started"]
    return summary
