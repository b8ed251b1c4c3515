"""The run history as ``wf runs --json`` and the web UI's ``/api/runs`` show it (docs/cli.md).

Filters, sort keys and paging are checked here once, so the command line and the web UI accept
and refuse the same values.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wf.errors import UsageError
from wf.storage import ExecutionMode, Run, RunStatus, RunSummary, Store
from wf.storage.times import format_optional, normalized_time

#: ``wf runs --sort`` keys; ``workflow`` is an alias of ``name``.
SORTS = ("time", "name", "workflow", "duration", "tasks", "status")
#: The largest SQLite INTEGER: the bound of a limit or an offset.
SQL_INT_MAX = 2**63 - 1


@dataclass(frozen=True)
class RunFilters:
    """The filters of a run listing; ``None`` means "any"."""

    workflow: str | None = None
    status: str | None = None
    tag: str | None = None
    start_after: datetime | None = None
    """Inclusive lower bound of the start time."""
    start_before: datetime | None = None
    """Exclusive upper bound of the start time."""
    min_duration_ms: int | None = None

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in {s.value for s in RunStatus}:
            raise UsageError(f"invalid status: {self.status}")

    def as_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``Store.list_runs`` / ``run_summary``."""
        return {
            "workflow": self.workflow,
            "status": self.status,
            "tag": self.tag,
            "start_after": self.start_after,
            "start_before": self.start_before,
            "min_duration_ms": self.min_duration_ms,
        }


@dataclass(frozen=True)
class RunPage:
    """Which slice of the matching runs to show, in which order (``limit`` 0: all)."""

    limit: int = 10
    offset: int = 0
    sort: str = "time"

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise UsageError(f"invalid sort key: {self.sort} (choose from {', '.join(SORTS)})")
        if self.limit < 0 or self.offset < 0:
            raise UsageError("limit and offset must be >= 0")
        if max(self.limit, self.offset) > SQL_INT_MAX:
            raise UsageError(f"limit and offset must be at most {SQL_INT_MAX}")


@dataclass
class RunListing:
    """One page of matching runs and the summary of all of them."""

    summary: RunSummary
    runs: list[Run] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """``{"summary": …, "runs": […]}``: the document of ``wf runs --json``."""
        return {"summary": self.summary.to_dict(), "runs": [run_json(r) for r in self.runs]}


def run_json(run: Run) -> dict[str, Any]:
    """One run in ``wf runs --json`` (and in the web UI's ``run`` events)."""
    return {
        "id": run.id,
        "workflow": run.workflow_name,
        "status": str(run.status),
        "started_at": format_optional(run.start_time),
        "ended_at": format_optional(run.end_time),
        "duration_ms": run.duration_ms,
        "total_tasks": run.total_tasks,
        "tasks_success": run.tasks_success,
        "tasks_failed": run.tasks_failed,
        "tasks_skipped": run.tasks_skipped,
        "tasks_cached": run.tasks_cached,
        "execution_mode": str(run.execution_mode),
        "max_parallel": run.max_parallel,
        "resume_count": run.resume_count,
        "tags": list(run.tags),
        "error": run.error,
    }


#: The ``runs`` columns of ``run_json_row``, in its order.
RUN_JSON_COLUMNS = (
    "id, workflow_name, status, start_time, end_time, duration_ms, total_tasks, tasks_success, "
    "tasks_failed, tasks_skipped, tasks_cached, execution_mode, max_parallel, resume_count, "
    "tags, error_message"
)
_STATUS_TEXT = {s.value: str(s) for s in RunStatus}
_MODE_TEXT = {m.value: str(m) for m in ExecutionMode}


def run_json_row(row: Sequence[Any]) -> dict[str, Any]:
    """``run_json`` of a row of ``RUN_JSON_COLUMNS``, without building the ``Run``: the same
    values, and the same ValueError for a status, mode, time or tag list that ``run_from_row``
    refuses."""
    status = _STATUS_TEXT.get(row[2]) if type(row[2]) is str else None
    mode = _MODE_TEXT.get(row[11]) if type(row[11]) is str else None
    tags = row[14]
    return {
        "id": row[0],
        "workflow": row[1],
        "status": status if status is not None else str(RunStatus(row[2])),
        "started_at": normalized_time(row[3]),
        "ended_at": normalized_time(row[4]),
        "duration_ms": row[5],
        "total_tasks": row[6],
        "tasks_success": row[7],
        "tasks_failed": row[8],
        "tasks_skipped": row[9],
        "tasks_cached": row[10],
        "execution_mode": mode if mode is not None else str(ExecutionMode(row[11])),
        "max_parallel": row[12],
        "resume_count": row[13],
        "tags": ([] if tags == "[]" else list(json.loads(tags))) if tags else [],
        "error": row[15],
    }


def list_history(store: Store, filters: RunFilters, page: RunPage) -> RunListing:
    """The summary of every run matching FILTERS and the PAGE of them to show."""
    kwargs = filters.as_kwargs()
    sort = "name" if page.sort == "workflow" else page.sort
    return RunListing(
        summary=store.run_summary(**kwargs),
        runs=store.list_runs(**kwargs, limit=page.limit, offset=page.offset, sort=sort),
    )


def history_document(store: Store, filters: RunFilters, page: RunPage) -> dict[str, Any]:
    """``list_history(…).to_dict()``, the document of ``wf runs --json``, read as rows of the
    shown columns only (10,000 runs: no ``Run`` objects, no unused columns)."""
    kwargs = filters.as_kwargs()
    sort = "name" if page.sort == "workflow" else page.sort
    summary = store.run_summary(**kwargs)
    rows = store.run_rows(
        RUN_JSON_COLUMNS, **kwargs, limit=page.limit, offset=page.offset, sort=sort
    )
    return {"summary": summary.to_dict(), "runs": [run_json_row(row) for row in rows]}
