"""The wf SQLite store (docs/storage.md): schema, migrations, runs, attempts, audit, resume."""

from typing import TYPE_CHECKING, Any

from wf.storage.errors import (
    AmbiguousRunIdError,
    RunNotFoundError,
    SchemaVersionError,
    StoreError,
)
from wf.storage.ids import decode_run_id, is_run_id, new_run_id
from wf.storage.models import (
    ACTIVE_RUN_STATUSES,
    RESUMABLE_RUN_STATUSES,
    TERMINAL_RUN_STATUSES,
    ContextSnapshot,
    DAGCache,
    ExecutionMode,
    ForensicLog,
    Run,
    RunStatus,
    TaskDependency,
    TaskExecution,
    TaskStatus,
)
from wf.storage.schema import LATEST_VERSION
from wf.storage.store import Store
from wf.storage.times import format_time, now_utc, parse_time

if TYPE_CHECKING:
    from wf.storage.readrows import AuditEntry, RunSummary, WorkflowStats

__all__ = [
    "ACTIVE_RUN_STATUSES",
    "LATEST_VERSION",
    "RESUMABLE_RUN_STATUSES",
    "TERMINAL_RUN_STATUSES",
    "AmbiguousRunIdError",
    "AuditEntry",
    "ContextSnapshot",
    "DAGCache",
    "ExecutionMode",
    "ForensicLog",
    "Run",
    "RunNotFoundError",
    "RunStatus",
    "RunSummary",
    "SchemaVersionError",
    "Store",
    "StoreError",
    "TaskDependency",
    "TaskExecution",
    "TaskStatus",
    "WorkflowStats",
    "decode_run_id",
    "format_time",
    "is_run_id",
    "new_run_id",
    "now_utc",
    "parse_time",
]


def __getattr__(name: str) -> Any:
    """The row classes that only reads build (``wf.storage.readrows``), imported on first use."""
    if name in ("AuditEntry", "RunSummary", "WorkflowStats"):
        from wf.storage import readrows

        return getattr(readrows, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
