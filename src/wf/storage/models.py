"""Store enums and data classes mirroring the tables (docs/storage.md#tables), with Python types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from wf.storage.times import format_optional

if TYPE_CHECKING:
    from wf.storage.readrows import AuditEntry, RunSummary, WorkflowStats

__all__ = [
    "ACTIVE_RUN_STATUSES",
    "RESUMABLE_RUN_STATUSES",
    "TERMINAL_RUN_STATUSES",
    "UNFINISHED_TASK_STATUSES",
    "AuditEntry",
    "ContextSnapshot",
    "DAGCache",
    "ExecutionMode",
    "ForensicLog",
    "Run",
    "RunStatus",
    "RunSummary",
    "TaskDependency",
    "TaskExecution",
    "TaskStatus",
    "WorkflowStats",
]

#: Classes that only reads build, defined in ``wf.storage.readrows`` and imported on first
#: use: ``wf run`` never builds them (start-up time).
_READ_ROWS = ("AuditEntry", "RunSummary", "WorkflowStats")


def __getattr__(name: str) -> Any:
    if name in _READ_ROWS:
        from wf.storage import readrows

        return getattr(readrows, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class RunStatus(StrEnum):
    """Status of a run; values are the stored strings."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELLED = "cancelled"
    RESUMING = "resuming"
    INTERRUPTED = "interrupted"


class TaskStatus(StrEnum):
    """State of one task execution (attempt row); values are the stored strings."""

    PENDING = "pending"
    READY = "ready"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class ExecutionMode(StrEnum):
    """How a run schedules its nodes; values are the stored strings."""

    SEQUENTIAL = "sequential"
    PARALLEL = "parallel"
    WORK_STEALING = "work_stealing"


TERMINAL_RUN_STATUSES = frozenset(
    {RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.INTERRUPTED}
)
RESUMABLE_RUN_STATUSES = frozenset({RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.INTERRUPTED})
#: Statuses of a run that has a live owner process (heartbeat, interruption sweep).
ACTIVE_RUN_STATUSES = frozenset({RunStatus.RUNNING, RunStatus.RESUMING})
#: Attempt states that an interruption turns into ``cancelled``.
UNFINISHED_TASK_STATUSES = frozenset({TaskStatus.PENDING, TaskStatus.READY, TaskStatus.RUNNING})


@dataclass(slots=True)
class Run:
    """One ``runs`` row. ``error`` is the column ``error_message``."""

    id: str = ""
    workflow_name: str = ""
    workflow_file: str = ""
    status: RunStatus = RunStatus.PENDING
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration_ms: int | None = None
    total_tasks: int = 0
    tasks_success: int = 0
    tasks_failed: int = 0
    tasks_skipped: int = 0
    execution_mode: ExecutionMode = ExecutionMode.SEQUENTIAL
    max_parallel: int = 1
    resume_count: int = 0
    last_resume_time: datetime | None = None
    tags: list[str] = field(default_factory=list)
    timeout_ms: int = 0
    clean_env: bool = False
    error: str | None = None
    failed_task: str | None = None
    owner_pid: int | None = None
    owner_host: str | None = None
    owner_started_at: datetime | None = None
    heartbeat_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    #: Nodes that were up to date (docs/caching.md), counted by a trigger like the others.
    tasks_cached: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of docs/json.md#run-object (stored UTC time strings, key ``error``)."""
        return {
            "id": self.id,
            "workflow_name": self.workflow_name,
            "workflow_file": self.workflow_file,
            "status": str(self.status),
            "start_time": format_optional(self.start_time),
            "end_time": format_optional(self.end_time),
            "duration_ms": self.duration_ms,
            "total_tasks": self.total_tasks,
            "tasks_success": self.tasks_success,
            "tasks_failed": self.tasks_failed,
            "tasks_skipped": self.tasks_skipped,
            "tasks_cached": self.tasks_cached,
            "execution_mode": str(self.execution_mode),
            "max_parallel": self.max_parallel,
            "resume_count": self.resume_count,
            "last_resume_time": format_optional(self.last_resume_time),
            "tags": list(self.tags),
            "timeout_ms": self.timeout_ms,
            "clean_env": self.clean_env,
            "error": self.error,
            "failed_task": self.failed_task,
            "owner_pid": self.owner_pid,
            "owner_host": self.owner_host,
            "owner_started_at": format_optional(self.owner_started_at),
            "heartbeat_at": format_optional(self.heartbeat_at),
            "created_at": format_optional(self.created_at),
            "updated_at": format_optional(self.updated_at),
        }


@dataclass(slots=True)
class TaskExecution:
    """One ``task_executions`` row: one attempt of one node. ``id`` is 0 until inserted."""

    id: int = 0
    run_id: str = ""
    task_id: str = ""
    task_name: str = ""
    command: str = ""
    state: TaskStatus = TaskStatus.PENDING
    working_dir: str | None = None
    log_path: str | None = None
    exit_code: int | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration_ms: int | None = None
    attempt: int = 1
    max_retries: int = 0
    is_forensic: bool = False
    is_matrix_expansion: bool = False
    matrix_vars: dict[str, str] | None = None
    condition_expr: str | None = None
    condition_result: bool | None = None
    error_message: str | None = None
    stack_trace: str | None = None
    fingerprint: str | None = None
    output_truncated: int = 0
    pid: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    #: Where the attempt ran: a Dask worker's address, None on this machine.
    hostname: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Every ``task_executions`` column, times as stored UTC strings.

        See docs/json.md#task-execution-object.
        """
        return {
            "id": self.id,
            "run_id": self.run_id,
            "task_id": self.task_id,
            "task_name": self.task_name,
            "command": self.command,
            "state": str(self.state),
            "working_dir": self.working_dir,
            "log_path": self.log_path,
            "exit_code": self.exit_code,
            "start_time": format_optional(self.start_time),
            "end_time": format_optional(self.end_time),
            "duration_ms": self.duration_ms,
            "attempt": self.attempt,
            "max_retries": self.max_retries,
            "is_forensic": self.is_forensic,
            "is_matrix_expansion": self.is_matrix_expansion,
            "matrix_vars": None if self.matrix_vars is None else dict(self.matrix_vars),
            "condition_expr": self.condition_expr,
            "condition_result": self.condition_result,
            "error_message": self.error_message,
            "stack_trace": self.stack_trace,
            "fingerprint": self.fingerprint,
            "output_truncated": self.output_truncated,
            "pid": self.pid,
            "hostname": self.hostname,
            "created_at": format_optional(self.created_at),
            "updated_at": format_optional(self.updated_at),
        }


@dataclass(slots=True)
class ContextSnapshot:
    """One ``context_snapshots`` row: one variable as of one snapshot."""

    id: int = 0
    run_id: str = ""
    snapshot_time: datetime | None = None
    snapshot_type: str = "checkpoint"
    variable_name: str = ""
    variable_value: str = ""
    variable_type: str = "string"
    set_by_task: str = ""
    set_at: datetime | None = None
    is_read_only: bool = False
    created_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON-ready values."""
        return {
            "id": self.id,
            "run_id": self.run_id,
            "snapshot_time": format_optional(self.snapshot_time),
            "snapshot_type": self.snapshot_type,
            "variable_name": self.variable_name,
            "variable_value": self.variable_value,
            "variable_type": self.variable_type,
            "set_by_task": self.set_by_task,
            "set_at": format_optional(self.set_at),
            "is_read_only": self.is_read_only,
            "created_at": format_optional(self.created_at),
        }


@dataclass(slots=True)
class DAGCache:
    """One ``dag_cache`` row: the serialised graph of a run (docs/json.md#wf-inspect---json)."""

    id: int = 0
    run_id: str = ""
    dag_json: str = ""
    total_nodes: int = 0
    total_levels: int = 0
    has_parallel_tasks: bool = False
    created_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON-ready values."""
        return {
            "id": self.id,
            "run_id": self.run_id,
            "dag_json": self.dag_json,
            "total_nodes": self.total_nodes,
            "total_levels": self.total_levels,
            "has_parallel_tasks": self.has_parallel_tasks,
            "created_at": format_optional(self.created_at),
        }


@dataclass(slots=True)
class ForensicLog:
    """One ``forensic_logs`` row; ``task_id`` None means run-wide."""

    id: int = 0
    run_id: str = ""
    task_id: str | None = None
    log_type: str = "trap_output"
    log_data: str = ""
    triggered_by: str | None = None
    trigger_reason: str | None = None
    created_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON-ready values."""
        return {
            "id": self.id,
            "run_id": self.run_id,
            "task_id": self.task_id,
            "log_type": self.log_type,
            "log_data": self.log_data,
            "triggered_by": self.triggered_by,
            "trigger_reason": self.trigger_reason,
            "created_at": format_optional(self.created_at),
        }


@dataclass(slots=True)
class TaskDependency:
    """One ``task_dependencies`` row: the edge ``depends_on_task_id -> task_id``."""

    id: int = 0
    run_id: str = ""
    task_id: str = ""
    depends_on_task_id: str = ""
    dependency_satisfied: bool = False
    satisfied_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON-ready values."""
        return {
            "id": self.id,
            "run_id": self.run_id,
            "task_id": self.task_id,
            "depends_on_task_id": self.depends_on_task_id,
            "dependency_satisfied": self.dependency_satisfied,
            "satisfied_at": format_optional(self.satisfied_at),
        }
