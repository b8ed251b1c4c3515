"""SQL column lists and conversions between table rows and the store's data classes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from wf.storage.models import (
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
from wf.storage.schema import next_time_sql
from wf.storage.times import format_optional, parse_time

if TYPE_CHECKING:
    from wf.storage.readrows import AuditEntry

Row = Sequence[Any]

RUN_COLUMNS = (
    "id, workflow_name, workflow_file, status, start_time, end_time, duration_ms, total_tasks, "
    "tasks_success, tasks_failed, tasks_skipped, execution_mode, max_parallel, resume_count, "
    "last_resume_time, tags, timeout_ms, clean_env, error_message, failed_task, owner_pid, "
    "owner_host, owner_started_at, heartbeat_at, created_at, updated_at, tasks_cached"
)
TASK_COLUMNS = (
    "id, run_id, task_id, task_name, command, state, working_dir, log_path, exit_code, "
    "start_time, end_time, duration_ms, attempt, max_retries, is_forensic, is_matrix_expansion, "
    "matrix_vars, condition_expr, condition_result, error_message, stack_trace, fingerprint, "
    "output_truncated, pid, created_at, updated_at, hostname"
)
SNAPSHOT_COLUMNS = (
    "id, run_id, snapshot_time, snapshot_type, variable_name, variable_value, variable_type, "
    "set_by_task, set_at, is_read_only, created_at"
)
AUDIT_COLUMNS = "id, run_id, event_type, event_data, created_at"
DAG_CACHE_COLUMNS = (
    "id, run_id, dag_json, total_nodes, total_levels, has_parallel_tasks, created_at"
)
FORENSIC_COLUMNS = (
    "id, run_id, task_id, log_type, log_data, triggered_by, trigger_reason, created_at"
)
DEPENDENCY_COLUMNS = "id, run_id, task_id, depends_on_task_id, dependency_satisfied, satisfied_at"

# The application never writes the counters (docs/storage.md#triggers): triggers do.
_RUN_WRITABLE = (
    "workflow_name, workflow_file, status, start_time, end_time, duration_ms, total_tasks, "
    "execution_mode, max_parallel, resume_count, last_resume_time, tags, timeout_ms, clean_env, "
    "error_message, failed_task, owner_pid, owner_host, owner_started_at, heartbeat_at"
)
_TASK_WRITABLE = (
    "task_id, task_name, command, state, working_dir, log_path, exit_code, start_time, end_time, "
    "duration_ms, attempt, max_retries, is_forensic, is_matrix_expansion, matrix_vars, "
    "condition_expr, condition_result, error_message, stack_trace, fingerprint, "
    "output_truncated, pid, hostname"
)


def _names(columns: str) -> list[str]:
    return [c.strip() for c in columns.split(",")]


def _insert(table: str, columns: str) -> str:
    names = _names(columns)
    marks = ", ".join(f"?{i}" for i in range(1, len(names) + 1))
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})"


def _update(table: str, columns: str) -> str:
    """UPDATE of COLUMNS by id; the parameters are the column values, the current time, the id.
    ``updated_at`` becomes the current time, or just after its old value if that is later."""
    names = _names(columns)
    now, row_id = len(names) + 1, len(names) + 2
    sets = ", ".join(f"{name} = ?{i}" for i, name in enumerate(names, 1))
    touched = next_time_sql("updated_at", f"?{now}")
    return f"UPDATE {table} SET {sets}, updated_at = {touched} WHERE id = ?{row_id}"


# Every time is bound from Python (microsecond precision, no per-row strftime); the column
# defaults and triggers only serve writers other than the Store.
INSERT_RUN = _insert("runs", f"id, {_RUN_WRITABLE}, created_at, updated_at")
UPDATE_RUN = _update("runs", _RUN_WRITABLE)
INSERT_TASK = _insert("task_executions", f"run_id, {_TASK_WRITABLE}, created_at, updated_at")
# run_id and task_id identify the attempt and never change; leaving task_id out of the SET list
# also spares its index on every update.
UPDATE_TASK = _update("task_executions", _TASK_WRITABLE.split(",", 1)[1])
INSERT_SNAPSHOT = _insert(
    "context_snapshots",
    "run_id, snapshot_time, snapshot_type, variable_name, variable_value, variable_type, "
    "set_by_task, set_at, is_read_only, created_at",
)
INSERT_AUDIT = _insert("audit_trail", "run_id, event_type, event_data, created_at")
INSERT_FORENSIC = _insert(
    "forensic_logs",
    "run_id, task_id, log_type, log_data, triggered_by, trigger_reason, created_at",
)
UPSERT_DAG_CACHE = (
    "INSERT INTO dag_cache (run_id, dag_json, total_nodes, total_levels, has_parallel_tasks, "
    "created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET "
    "dag_json = excluded.dag_json, total_nodes = excluded.total_nodes, "
    "total_levels = excluded.total_levels, has_parallel_tasks = excluded.has_parallel_tasks, "
    "created_at = excluded.created_at"
)
INSERT_DEPENDENCY = _insert(
    "task_dependencies",
    "run_id, task_id, depends_on_task_id, dependency_satisfied, satisfied_at",
)


def dump_json(value: Any) -> str:
    """Compact JSON text for a stored JSON column."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _opt_bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def run_params(run: Run) -> tuple[Any, ...]:
    """The values of ``_RUN_WRITABLE``, in order."""
    return (
        run.workflow_name,
        run.workflow_file,
        RunStatus(run.status).value,
        format_optional(run.start_time),
        format_optional(run.end_time),
        run.duration_ms,
        run.total_tasks,
        ExecutionMode(run.execution_mode).value,
        run.max_parallel,
        run.resume_count,
        format_optional(run.last_resume_time),
        dump_json(list(run.tags or [])),
        run.timeout_ms,
        int(bool(run.clean_env)),
        run.error,
        run.failed_task,
        run.owner_pid,
        run.owner_host,
        format_optional(run.owner_started_at),
        format_optional(run.heartbeat_at),
    )


def run_from_row(row: Row) -> Run:
    """A Run from a row selected with ``RUN_COLUMNS``."""
    return Run(
        id=row[0],
        workflow_name=row[1],
        workflow_file=row[2],
        status=RunStatus(row[3]),
        start_time=parse_time(row[4]),
        end_time=parse_time(row[5]),
        duration_ms=row[6],
        total_tasks=row[7],
        tasks_success=row[8],
        tasks_failed=row[9],
        tasks_skipped=row[10],
        execution_mode=ExecutionMode(row[11]),
        max_parallel=row[12],
        resume_count=row[13],
        last_resume_time=parse_time(row[14]),
        tags=json.loads(row[15]) if row[15] else [],
        timeout_ms=row[16],
        clean_env=bool(row[17]),
        error=row[18],
        failed_task=row[19],
        owner_pid=row[20],
        owner_host=row[21],
        owner_started_at=parse_time(row[22]),
        heartbeat_at=parse_time(row[23]),
        created_at=parse_time(row[24]),
        updated_at=parse_time(row[25]),
        tasks_cached=row[26],
    )


def task_params(te: TaskExecution) -> tuple[Any, ...]:
    """The values of ``_TASK_WRITABLE``, in order."""
    return (
        te.task_id,
        te.task_name,
        te.command,
        TaskStatus(te.state).value,
        te.working_dir,
        te.log_path,
        te.exit_code,
        format_optional(te.start_time),
        format_optional(te.end_time),
        te.duration_ms,
        te.attempt,
        te.max_retries,
        int(bool(te.is_forensic)),
        int(bool(te.is_matrix_expansion)),
        None if te.matrix_vars is None else dump_json(te.matrix_vars),
        te.condition_expr,
        None if te.condition_result is None else int(bool(te.condition_result)),
        te.error_message,
        te.stack_trace,
        te.fingerprint,
        te.output_truncated,
        te.pid,
        te.hostname,
    )


def task_from_row(row: Row) -> TaskExecution:
    """A TaskExecution from a row selected with ``TASK_COLUMNS``."""
    return TaskExecution(
        id=row[0],
        run_id=row[1],
        task_id=row[2],
        task_name=row[3],
        command=row[4],
        state=TaskStatus(row[5]),
        working_dir=row[6],
        log_path=row[7],
        exit_code=row[8],
        start_time=parse_time(row[9]),
        end_time=parse_time(row[10]),
        duration_ms=row[11],
        attempt=row[12],
        max_retries=row[13],
        is_forensic=bool(row[14]),
        is_matrix_expansion=bool(row[15]),
        matrix_vars=None if row[16] is None else json.loads(row[16]),
        condition_expr=row[17],
        condition_result=_opt_bool(row[18]),
        error_message=row[19],
        stack_trace=row[20],
        fingerprint=row[21],
        output_truncated=row[22],
        pid=row[23],
        created_at=parse_time(row[24]),
        updated_at=parse_time(row[25]),
        hostname=row[26],
    )


def snapshot_from_row(row: Row) -> ContextSnapshot:
    """A ContextSnapshot from a row selected with ``SNAPSHOT_COLUMNS``."""
    return ContextSnapshot(
        id=row[0],
        run_id=row[1],
        snapshot_time=parse_time(row[2]),
        snapshot_type=row[3],
        variable_name=row[4],
        variable_value=row[5],
        variable_type=row[6],
        set_by_task=row[7],
        set_at=parse_time(row[8]),
        is_read_only=bool(row[9]),
        created_at=parse_time(row[10]),
    )


def audit_from_row(row: Row) -> AuditEntry:
    """An AuditEntry from a row selected with ``AUDIT_COLUMNS``."""
    from wf.storage.readrows import AuditEntry

    return AuditEntry(
        id=row[0],
        run_id=row[1],
        event_type=row[2],
        event_data=row[3],
        created_at=parse_time(row[4]),
    )


def dag_cache_from_row(row: Row) -> DAGCache:
    """A DAGCache from a row selected with ``DAG_CACHE_COLUMNS``."""
    return DAGCache(
        id=row[0],
        run_id=row[1],
        dag_json=row[2],
        total_nodes=row[3] or 0,
        total_levels=row[4] or 0,
        has_parallel_tasks=bool(row[5]),
        created_at=parse_time(row[6]),
    )


def forensic_from_row(row: Row) -> ForensicLog:
    """A ForensicLog from a row selected with ``FORENSIC_COLUMNS``."""
    return ForensicLog(
        id=row[0],
        run_id=row[1],
        task_id=row[2],
        log_type=row[3],
        log_data=row[4],
        triggered_by=row[5],
        trigger_reason=row[6],
        created_at=parse_time(row[7]),
    )


def dependency_from_row(row: Row) -> TaskDependency:
    """A TaskDependency from a row selected with ``DEPENDENCY_COLUMNS``."""
    return TaskDependency(
        id=row[0],
        run_id=row[1],
        task_id=row[2],
        depends_on_task_id=row[3],
        dependency_satisfied=bool(row[4]),
        satisfied_at=parse_time(row[5]),
    )
