"""The task lifecycle of one node: its entry point, and the resume and cache decisions.

The jobs live in their own modules: ``prepare`` (P1–P5, environment), ``attempts`` (the
attempt loop, ``RetryPolicy``), ``outcomes`` (rows, skip, success, failures) and ``traps``."""

from __future__ import annotations

import logging

from wf.contextmap import (
    ContextMapError,
)
from wf.executor.attempts import run_attempts
from wf.executor.cache import (
    CacheInputError,
    Decision,
    announced_reason,
    cached_outcome,
    decide_node,
)
from wf.executor.effects import Steps
from wf.executor.events import ProgressEventKind as K
from wf.executor.outcomes import early_failure, force_set, skip
from wf.executor.prepare import EarlyFailure, NodeSpec, Prepared, prepare
from wf.executor.runstate import NodeResult, NodeStatus, RunState
from wf.executor.traps import run_task_trap, run_trap_node
from wf.storage import TaskStatus

log = logging.getLogger("wf.executor")


def run_node(rs: RunState, spec: NodeSpec) -> Steps[NodeResult]:
    """Run one node through its whole lifecycle; the generator returns its result.

    It yields an effect (``Spawn`` an attempt, ``Sleep`` a retry delay) whenever it has to
    wait, so one thread can drive many nodes at once (see ``wf.executor.effects``).
    """
    task = spec.task
    reason: str | None = None
    if rs.resuming and not spec.is_forensic:
        reason = _resume_reason(rs, spec)
        if reason is None:
            return _reuse(rs, spec)
    condition_result: bool | None = None
    try:
        if spec.is_expanded:
            try:
                rs.ctx.set_matrix(spec.node_id, spec.matrix_vars)
            except ContextMapError as exc:
                raise EarlyFailure(f"matrix variables: {exc}") from exc
        if task.condition:
            try:
                condition_result = rs.ctx.eval_condition(task.condition, task_id=spec.node_id)
            except ContextMapError as exc:
                raise EarlyFailure(f"condition evaluation failed: {exc}") from exc
            if not condition_result:
                return skip(rs, spec)
        prepared = prepare(rs, spec, condition_result)
        decision = _decide_cache(rs, spec, prepared, reason)
    except EarlyFailure as exc:
        return (yield from early_failure(rs, spec, str(exc), condition_result, reason))
    if decision is not None and not decision.run:
        return cached_outcome(rs, spec.node_id, spec.name, decision)
    reason = reason or announced_reason(rs, task, decision)
    return (yield from run_attempts(rs, spec, prepared, reason))


def _decide_cache(
    rs: RunState, spec: NodeSpec, prepared: Prepared, reason: str | None
) -> Decision | None:
    """Incremental runs (docs/caching.md): is the prepared node up to date?"""
    if spec.is_forensic or rs.cache is None:
        return None
    try:
        return decide_node(
            rs,
            spec.node_id,
            spec.task,
            cmd=prepared.cmd,
            env=prepared.env,
            working_dir=prepared.working_dir,
            cwd=prepared.cwd,
            force=(reason or "").startswith("forced by"),  # a resume selection flag
        )
    except CacheInputError as exc:
        raise EarlyFailure(str(exc)) from exc


def _resume_reason(rs: RunState, spec: NodeSpec) -> str | None:
    """Why the node runs on resume, or None to reuse it (docs/resume.md#what-a-resume-does)."""
    if spec.node_id in rs.forced:
        return f"forced by --{rs.forced_by}"
    prev = rs.previous.get(spec.node_id)
    if prev is None:
        return "not run before"
    state = str(prev.state)
    if state == TaskStatus.SUCCESS:
        current = _current_fingerprint(rs, spec)
        if current is not None and current == prev.fingerprint:
            return None
        return "changed since run"
    return {
        TaskStatus.FAILED: "failed in previous run",
        TaskStatus.CANCELLED: "cancelled in previous run",
        TaskStatus.SKIPPED: "skipped in previous run",
    }.get(TaskStatus(state), "not run before")


def _current_fingerprint(rs: RunState, spec: NodeSpec) -> str | None:
    try:
        if spec.is_expanded:
            rs.ctx.set_matrix(spec.node_id, spec.matrix_vars)
        prepared = prepare(rs, spec, None, check_dir=False)
    except (EarlyFailure, ContextMapError):
        return None
    return prepared.fingerprint


def _reuse(rs: RunState, spec: NodeSpec) -> NodeResult:
    prev = rs.previous[spec.node_id]
    rs.emit(
        K.TASK_REUSED,
        task_id=spec.node_id,
        task_name=spec.name,
        status="success",
        reason="unchanged since run",
    )
    rs.audit("task_reused", {"task_id": spec.node_id, "fingerprint": prev.fingerprint})
    return NodeResult(spec.node_id, NodeStatus.REUSED, end_time=prev.end_time)


__all__ = ["NodeSpec", "force_set", "run_node", "run_task_trap", "run_trap_node"]
