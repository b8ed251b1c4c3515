"""A node's records and outcomes: its rows, and skip, early failure, success, cancellation
and final failure with their events (docs/executors.md, docs/json.md)."""

from __future__ import annotations

import contextlib
import logging

from wf.contextmap import (
    ContextMapError,
    Variable,
)
from wf.executor.cache import (
    record_success,
)
from wf.executor.effects import Steps
from wf.executor.events import ProgressEventKind as K
from wf.executor.prepare import EarlyFailure, NodeSpec, interpolate
from wf.executor.runner import AttemptResult
from wf.executor.runstate import NodeResult, NodeStatus, RunState, output_head
from wf.storage import TaskExecution, TaskStatus
from wf.storage.times import now_utc

log = logging.getLogger("wf.executor")


def force_set(rs: RunState, owner: str, name: str, value: str) -> None:
    """Set a wf-owned variable, replacing earlier values whoever set them."""
    try:
        rs.ctx.set(owner, name, value)
    except ContextMapError:
        rs.ctx.restore_variable(Variable(name, value, owner, now_utc(), False))


def insert_row(rs: RunState, row: TaskExecution, *, satisfy: bool = False) -> None:
    """Queue the insert of ROW; the writer gives ROW its id.

    The writer reads ROW when it applies the operation, so a row that has moved on by then
    (running, success) is written in its newer state, and updates made while the insert is still
    queued need no statement of their own (see ``update_row``). With ``satisfy`` the node's
    incoming dependency edges are marked satisfied too.
    """
    rs.queue_row_write(row, lambda store: store.create_task_execution(row))
    if satisfy:
        _satisfy(rs, row.task_id)


def update_row(rs: RunState, row: TaskExecution, *, satisfy: bool = False) -> None:
    """Queue the update of ROW, unless a queued write of ROW will carry this state anyway."""
    rs.queue_row_write(row, lambda store: store.update_task_execution(row))
    if satisfy:
        _satisfy(rs, row.task_id)


def _satisfy(rs: RunState, task_id: str) -> None:
    node = rs.dag.nodes.get(task_id)
    if node is None or not node.dependencies:
        return  # no incoming edge to mark
    run_id = rs.run_id
    rs.writer.submit(lambda store: store.mark_dependency_satisfied(run_id, task_id))


def base_row(rs: RunState, spec: NodeSpec, attempt: int) -> TaskExecution:
    task = spec.task
    return TaskExecution(
        run_id=rs.run_id,
        task_id=spec.node_id,
        task_name=spec.name,
        command=task.cmd,
        attempt=attempt,
        max_retries=task.retries,
        is_forensic=spec.is_forensic,
        is_matrix_expansion=spec.is_expanded,
        matrix_vars=dict(spec.matrix_vars) if spec.is_expanded else None,
        condition_expr=task.condition or None,
    )


def skip(rs: RunState, spec: NodeSpec) -> NodeResult:
    now = now_utc()
    row = base_row(rs, spec, rs.next_attempt(spec.node_id))
    row.state = TaskStatus.SKIPPED
    row.condition_result = False
    row.start_time = row.end_time = now
    row.duration_ms = 0
    insert_row(rs, row, satisfy=True)
    rs.audit("task_skipped", {"task_id": spec.node_id, "condition": spec.task.condition})
    rs.emit(
        K.TASK_SKIPPED,
        task_id=spec.node_id,
        task_name=spec.name,
        status="skipped",
        reason="condition false",
    )
    return NodeResult(spec.node_id, NodeStatus.SKIPPED, end_time=now)


def early_failure(
    rs: RunState,
    spec: NodeSpec,
    error: str,
    condition_result: bool | None,
    reason: str | None,
) -> Steps[NodeResult]:
    now = now_utc()
    row = base_row(rs, spec, rs.next_attempt(spec.node_id))
    with contextlib.suppress(EarlyFailure):  # record the interpolated command if possible
        row.command = interpolate(rs, spec, spec.task.cmd, "cmd")
    row.state = TaskStatus.FAILED
    row.condition_result = condition_result
    row.start_time = row.end_time = now
    row.duration_ms = 0
    row.error_message = error
    insert_row(rs, row)
    result = NodeResult(
        spec.node_id,
        NodeStatus.FAILED,
        ignored=spec.task.ignore_failure,
        attempts=1,
        error=error,
        end_time=now,
        early=True,
    )
    return (yield from final_failure(rs, spec, result))


def success(rs: RunState, spec: NodeSpec, row: TaskExecution, result: AttemptResult) -> NodeResult:
    row.state = TaskStatus.SUCCESS
    row.exit_code = 0
    update_row(rs, row, satisfy=True)
    record_success(rs, spec.node_id)
    rs.snapshot("checkpoint", full=False)
    rs.audit("task_succeeded", {"task_id": spec.node_id, "attempt": row.attempt})
    rs.emit(
        K.TASK_DONE,
        task_id=spec.node_id,
        task_name=spec.name,
        attempt=row.attempt,
        status="success",
        exit_code=0,
    )
    emit_output(rs, spec, result.log_head)
    return NodeResult(
        spec.node_id,
        NodeStatus.SUCCESS,
        attempts=row.attempt,
        end_time=row.end_time,
        exit_code=0,
        log_path=row.log_path,
        log_head=result.log_head,
    )


def emit_output(rs: RunState, spec: NodeSpec, log_head: bytes) -> None:
    if not rs.print_output:
        return
    text, truncated = output_head(log_head)
    if text:
        rs.emit(
            K.TASK_OUTPUT,
            task_id=spec.node_id,
            task_name=spec.name,
            output=text,
            truncated=truncated,
        )


def cancelled(
    rs: RunState,
    spec: NodeSpec,
    row: TaskExecution,
    result: AttemptResult | None,
    reason: str,
) -> NodeResult:
    error = f"cancelled: {reason}"
    now = now_utc()
    row.state = TaskStatus.CANCELLED
    row.exit_code = -1
    row.error_message = error
    row.end_time = row.end_time or now
    if row.start_time is not None:
        row.duration_ms = max(0, round((row.end_time - row.start_time).total_seconds() * 1000))
    update_row(rs, row)
    rs.forensic_log(
        spec.node_id, "cancellation", f"attempt {row.attempt} {error}", spec.node_id, reason
    )
    rs.audit("task_cancelled", {"task_id": spec.node_id, "attempt": row.attempt, "reason": reason})
    rs.emit(
        K.TASK_FAILED,
        task_id=spec.node_id,
        task_name=spec.name,
        attempt=row.attempt,
        status="cancelled",
        error=error,
        exit_code=row.exit_code,
    )
    return NodeResult(
        spec.node_id,
        NodeStatus.CANCELLED,
        attempts=row.attempt,
        error=error,
        end_time=row.end_time,
        exit_code=-1,
        log_path=row.log_path,
    )


def final_failure(rs: RunState, spec: NodeSpec, result: NodeResult) -> Steps[NodeResult]:
    """Fail-fast first, then the task-level trap, then the task_failed records.

    See docs/executors.md#the-three-modes and docs/workflow-files.md#forensic-tasks-and-traps.
    """
    task = spec.task
    if not spec.is_forensic and not result.ignored and rs.on_final_failure is not None:
        rs.on_final_failure(spec.node_id)
    if not spec.is_forensic and task.on_failure:
        from wf.executor.traps import run_task_trap  # a trap runs a whole lifecycle again

        yield from run_task_trap(rs, spec.node_id, task.on_failure, result.error or "")
    data: dict[str, object] = {
        "task_id": spec.node_id,
        "attempts": result.attempts,
        "error": result.error,
        "ignored": result.ignored,
    }
    if result.early:
        data["early"] = True
    rs.audit("task_failed", data)
    rs.emit(
        K.TASK_FAILED,
        task_id=spec.node_id,
        task_name=spec.name,
        attempt=result.attempts,
        status="failed",
        error=result.error,
        reason="failure ignored" if result.ignored else None,
        exit_code=result.exit_code,
    )
    emit_output(rs, spec, result.log_head)
    return result
