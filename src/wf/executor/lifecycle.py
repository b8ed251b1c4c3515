"""The task lifecycle of one node (SPEC §4.3–4.9): preparation, attempts, outcome, traps."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from wf.contextmap import (
    FORENSIC_OWNER,
    RESERVED_NAMES,
    ContextMapError,
    UndefinedVariableError,
    Variable,
)
from wf.dag.model import TaskDefinition
from wf.errors import SecurityError
from wf.executor.cache import (
    CacheInputError,
    Decision,
    announced_reason,
    cached_outcome,
    decide_node,
    record_success,
)
from wf.executor.cancel import AttemptCancel
from wf.executor.effects import Sleep, Spawn, Steps
from wf.executor.events import ProgressEventKind as K
from wf.executor.fingerprint import fingerprint
from wf.executor.outputs import (
    OutputError,
    check_output_name,
    parse_output_secrets,
    register_value,
)
from wf.executor.runner import AttemptResult, AttemptSpec, Outcome
from wf.executor.runstate import NodeResult, NodeStatus, RunState, output_head, tail_text
from wf.files import make_private_dirs
from wf.secrets import scrub_file
from wf.security import validate_working_dir
from wf.storage import TaskExecution, TaskStatus
from wf.storage.times import now_utc
from wf.telemetry import traceparent

log = logging.getLogger("wf.executor")


class EarlyFailure(Exception):
    """A node failure before any process starts (condition, interpolation, working dir)."""


@dataclass
class NodeSpec:
    """One node to run: a normal node, or a forensic trap under its own node ID."""

    node_id: str
    task: TaskDefinition
    name: str
    matrix_vars: dict[str, str] = field(default_factory=dict)
    is_expanded: bool = False
    is_forensic: bool = False


@dataclass
class Prepared:
    """The interpolated node, ready for its attempts."""

    cmd: str
    env: dict[str, str]
    working_dir: str
    cwd: str | None
    register: str
    condition_result: bool | None
    fingerprint: str


def force_set(rs: RunState, owner: str, name: str, value: str) -> None:
    """Set a wf-owned variable, replacing earlier values whoever set them."""
    try:
        rs.ctx.set(owner, name, value)
    except ContextMapError:
        rs.ctx.restore_variable(Variable(name, value, owner, now_utc(), False))


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
                return _skip(rs, spec)
        prepared = _prepare(rs, spec, condition_result)
        decision = _decide_cache(rs, spec, prepared, reason)
    except EarlyFailure as exc:
        return (yield from _early_failure(rs, spec, str(exc), condition_result, reason))
    if decision is not None and not decision.run:
        return cached_outcome(rs, spec.node_id, spec.name, decision)
    reason = reason or announced_reason(rs, task, decision)
    return (yield from _attempts(rs, spec, prepared, reason))


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


# -- resume decisions -------------------------------------------------------------------------
def _resume_reason(rs: RunState, spec: NodeSpec) -> str | None:
    """Why the node runs on resume, or None to reuse it (SPEC §6.5)."""
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
        prepared = _prepare(rs, spec, None, check_dir=False)
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


# -- preparation ------------------------------------------------------------------------------
def _interpolate(rs: RunState, spec: NodeSpec, text: str, field_name: str) -> str:
    try:
        value = rs.ctx.interpolate(text, task_id=spec.node_id)
    except UndefinedVariableError as exc:
        raise EarlyFailure(
            f'interpolation failed in {field_name}: undefined variable "{exc.name}"'
        ) from exc
    except ContextMapError as exc:
        raise EarlyFailure(f"interpolation failed in {field_name}: {exc}") from exc
    if "\x00" in value:
        raise EarlyFailure(f"interpolation failed in {field_name}: result contains a NUL byte")
    return value


def _prepare(
    rs: RunState, spec: NodeSpec, condition_result: bool | None, *, check_dir: bool = True
) -> Prepared:
    """P3–P5: interpolation, working directory, fingerprint."""
    task = spec.task
    cmd = _interpolate(rs, spec, task.cmd, "cmd")
    env = {key: _interpolate(rs, spec, value, f"env.{key}") for key, value in task.env.items()}
    working_dir = _interpolate(rs, spec, task.working_dir, "working_dir")
    register = task.register
    if "{{" in register:
        register = _interpolate(rs, spec, register, "register")
    if register:
        try:
            check_output_name(register, "")
        except OutputError as exc:
            raise EarlyFailure(f"invalid register name: {exc}") from exc
    cwd: str | None = None
    if working_dir:
        cwd = os.path.abspath(working_dir)
        if check_dir:
            _check_working_dir(working_dir, cwd)
    clean_env = rs.clean_env or task.clean_env
    fp = fingerprint(
        task=task,
        node_id=spec.node_id,
        cmd=cmd,
        env=env,
        working_dir=working_dir,
        clean_env=clean_env,
        matrix_vars=spec.matrix_vars,
        ctx=rs.ctx,
    )
    return Prepared(cmd, env, working_dir, cwd, register, condition_result, fp)


def _check_working_dir(working_dir: str, cwd: str) -> None:
    try:
        validate_working_dir(working_dir)
        validate_working_dir(cwd, check_real=True)
    except SecurityError:
        raise EarlyFailure(f"working directory not allowed: {working_dir}") from None
    if not os.path.exists(cwd):
        raise EarlyFailure(f"working directory does not exist: {working_dir}")
    if not os.path.isdir(cwd):
        raise EarlyFailure(f"working directory is not a directory: {working_dir}")


# -- rows -------------------------------------------------------------------------------------
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


# -- outcomes without attempts ----------------------------------------------------------------
def _base_row(rs: RunState, spec: NodeSpec, attempt: int) -> TaskExecution:
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


def _skip(rs: RunState, spec: NodeSpec) -> NodeResult:
    now = now_utc()
    row = _base_row(rs, spec, rs.next_attempt(spec.node_id))
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


def _early_failure(
    rs: RunState,
    spec: NodeSpec,
    error: str,
    condition_result: bool | None,
    reason: str | None,
) -> Steps[NodeResult]:
    now = now_utc()
    row = _base_row(rs, spec, rs.next_attempt(spec.node_id))
    with contextlib.suppress(EarlyFailure):  # §4.6: the command interpolated if possible
        row.command = _interpolate(rs, spec, spec.task.cmd, "cmd")
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
    return (yield from _final_failure(rs, spec, result))


# -- attempts ---------------------------------------------------------------------------------
def _environment(
    rs: RunState, spec: NodeSpec, prepared: Prepared, attempt: int, output: str
) -> dict[str, str]:
    """SPEC §4.4: wf's environment (or none), the task's env, then the WF_* variables."""
    env = {} if (rs.clean_env or spec.task.clean_env) else dict(rs.base_env)
    env.update(rs.secret_env)  # declared secrets reach every task, also with clean_env
    env.update(prepared.env)
    env["WF_RUN_ID"] = rs.run_id
    env["WF_WORKFLOW"] = rs.workflow_name
    env["WF_TASK_ID"] = spec.node_id
    env["WF_ATTEMPT"] = str(attempt)
    env["WF_OUTPUT"] = output
    if rs.traced:
        env["TRACEPARENT"] = traceparent(rs.run_id, spec.node_id, attempt)
    return env


def _retry_delay(task: TaskDefinition, k: int) -> float:
    """Delay before attempt K ≥ 2 (SPEC §4.7)."""
    delay = task.retry_delay * (task.retry_backoff ** (k - 2))
    if task.retry_max_delay is not None:
        delay = min(delay, task.retry_max_delay)
    return delay


def _attempt_dir(rs: RunState, node_id: str) -> str:
    """``<logs>/<run_id>/<node_id>``, created 0700 on first use (one syscall when it exists)."""
    path = os.path.join(rs.run_log_dir, node_id)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except FileNotFoundError:
        make_private_dirs(Path(path))  # the run's directory went missing: recreate it all
    return path


def _start_failure(exc: OSError) -> AttemptResult:
    """An attempt whose log directory or files cannot be created (SPEC §4.4 error text)."""
    reason = exc.strerror or str(exc)
    if exc.filename:
        reason += f": {exc.filename}"
    now = time.time()
    return AttemptResult(Outcome.START_FAILED, -1, f"failed to start command: {reason}", now, now)


def _attempts(
    rs: RunState, spec: NodeSpec, prepared: Prepared, reason: str | None
) -> Steps[NodeResult]:
    task = spec.task
    cancel = AttemptCancel(rs.run_cancel, None if spec.is_forensic else rs.failfast)
    kill_grace = task.kill_grace if task.kill_grace is not None else rs.settings.kill_grace
    total = task.retries + 1
    last: AttemptResult | None = None
    error: str | None = None
    row = TaskExecution()
    for k in range(1, total + 1):
        n = rs.next_attempt(spec.node_id)
        row = _base_row(rs, spec, n)
        row.command = prepared.cmd
        row.working_dir = prepared.working_dir or None
        row.condition_result = prepared.condition_result
        row.fingerprint = prepared.fingerprint
        if k == 1:
            started = {"task_id": spec.node_id, "task_name": spec.name, "attempt": n}
            if reason is not None:
                started["reason"] = reason
            insert_row(rs, row)
            rs.audit("task_started", started)
            rs.emit(
                K.TASK_STARTED,
                task_id=spec.node_id,
                task_name=spec.name,
                attempt=n,
                status="running",
                reason=reason,
            )
        else:
            delay = _retry_delay(task, k)
            insert_row(rs, row)
            why = error  # the failed attempt's error, as recorded on its row
            rs.audit(
                "task_retried",
                {
                    "task_id": spec.node_id,
                    "attempt": n,
                    "delay_ms": round(delay * 1000),
                    "error": why,
                },
            )
            rs.emit(
                K.TASK_RETRYING,
                task_id=spec.node_id,
                task_name=spec.name,
                attempt=n,
                status="pending",
                delay=delay,
                error=why,
                exit_code=last.exit_code if last is not None else None,
            )
            if delay > 0:
                yield Sleep(delay, cancel)
        if cancel.is_set():
            return _cancelled(rs, spec, row, None, cancel.reason)
        directory = os.path.join(rs.run_log_dir, spec.node_id)
        log_path = f"{directory}/attempt_{n}.log"
        output_path = f"{directory}/attempt_{n}.output"
        row.log_path = log_path
        attempt_spec = AttemptSpec(
            command=prepared.cmd,
            env=_environment(rs, spec, prepared, n, output_path),
            log_path=log_path,
            cwd=prepared.cwd,
            timeout=task.timeout or None,
            kill_grace=kill_grace,
            log_max_bytes=rs.settings.log_max_bytes,
            output_path=output_path,
            secrets=rs.masker.values,
        )

        def on_start(
            pid: int, start: float, host: str | None = None, row: TaskExecution = row
        ) -> None:
            log.debug(
                "spawned %s attempt %d: pid %d: %s", row.task_id, row.attempt, pid, row.command
            )
            row.state = TaskStatus.RUNNING
            row.start_time = datetime.fromtimestamp(start, UTC)  # taken just before the spawn
            row.pid = pid
            row.hostname = host
            update_row(rs, row)

        has_log = True
        try:
            _attempt_dir(rs, spec.node_id)
            outcome = yield Spawn(attempt_spec, cancel, on_start)
            assert isinstance(outcome, AttemptResult)
            last = outcome
        except OSError as exc:  # its log or WF_OUTPUT file cannot be created: a failed start
            last = _start_failure(exc)
            has_log = False
        if rs.masker:  # e.g. a secret copied into WF_OUTPUT
            scrub_file(output_path, rs.masker)
            if len(rs.masker.values) != len(attempt_spec.secrets):
                scrub_file(log_path, rs.masker)  # a secret learnt while it ran
        end = now_utc()
        if row.start_time is None:
            row.start_time = end
        row.end_time = end
        row.duration_ms = max(0, round((end - row.start_time).total_seconds() * 1000))
        row.output_truncated = last.output_truncated
        if last.host is not None:
            row.hostname = last.host
        if last.pid is not None and row.pid is None:
            row.pid = last.pid
        if last.outcome is Outcome.CANCELLED:
            return _cancelled(rs, spec, row, last, cancel.reason)
        error = last.error
        if last.ok:
            try:
                _register(rs, spec, prepared, last, (log_path, output_path))
            except (OutputError, ContextMapError) as exc:
                error = str(exc)
            else:
                return _success(rs, spec, row, last)
        row.state = TaskStatus.FAILED
        row.exit_code = last.exit_code
        row.error_message = error
        row.stack_trace = tail_text(last.log_tail) if has_log else None
        update_row(rs, row)
        if last.outcome is Outcome.TIMED_OUT:
            rs.forensic_log(spec.node_id, "timeout", f"attempt {n} {error}", spec.node_id, error)
        if cancel.is_set():
            break
    assert last is not None
    result = NodeResult(
        spec.node_id,
        NodeStatus.FAILED,
        ignored=task.ignore_failure,
        attempts=total if not cancel.is_set() else k,
        error=row.error_message,
        end_time=row.end_time,
        exit_code=row.exit_code,
        log_path=row.log_path,
        log_head=last.log_head,
    )
    return (yield from _final_failure(rs, spec, result))


def _register(
    rs: RunState,
    spec: NodeSpec,
    prepared: Prepared,
    result: AttemptResult,
    files: tuple[str, str],
) -> None:
    """A5: validate everything first, then set WF_OUTPUT variables in order, then register.

    ``secret KEY=VALUE`` lines make VALUE a secret of the run from now on: the attempt's log
    and WF_OUTPUT file (FILES) are masked again with it.
    """
    if result.output_error is not None:
        raise OutputError(result.output_error)
    pairs, secret = parse_output_secrets(result.output)
    if secret and rs.masker.add(value for name, value in pairs if name in secret):
        for path in files:
            scrub_file(path, rs.masker)
    for name, _ in pairs:
        if name in RESERVED_NAMES:
            raise OutputError(f'variable "{name}" is reserved')
    if not pairs and not prepared.register:
        return
    values = list(pairs)
    if prepared.register:
        values.append((prepared.register, register_value(result.stdout_tail)))
    for name, _ in values:
        existing = rs.ctx.lookup(name)
        if existing is not None and existing.owner != spec.node_id:
            raise OutputError(
                f'failed to register output: variable "{name}" already set by task '
                f'"{existing.owner}"'
            )
        if existing is not None and existing.read_only:
            raise OutputError(
                f'failed to register output: cannot overwrite read-only variable "{name}"'
            )
    try:
        for name, value in values:
            rs.ctx.set(spec.node_id, name, value)
    except ContextMapError as exc:
        raise OutputError(f"failed to register output: {exc}") from exc


def _success(rs: RunState, spec: NodeSpec, row: TaskExecution, result: AttemptResult) -> NodeResult:
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
    _emit_output(rs, spec, result.log_head)
    return NodeResult(
        spec.node_id,
        NodeStatus.SUCCESS,
        attempts=row.attempt,
        end_time=row.end_time,
        exit_code=0,
        log_path=row.log_path,
        log_head=result.log_head,
    )


def _emit_output(rs: RunState, spec: NodeSpec, log_head: bytes) -> None:
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


def _cancelled(
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


def _final_failure(rs: RunState, spec: NodeSpec, result: NodeResult) -> Steps[NodeResult]:
    """§4.6: fail-fast first, then the task-level trap, then the task_failed records."""
    task = spec.task
    if not spec.is_forensic and not result.ignored and rs.on_final_failure is not None:
        rs.on_final_failure(spec.node_id)
    if not spec.is_forensic and task.on_failure:
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
    _emit_output(rs, spec, result.log_head)
    return result


# -- traps ------------------------------------------------------------------------------------
def run_task_trap(rs: RunState, failed_node: str, trap_id: str, error: str) -> Steps[None]:
    """Fire the task-level trap TRAP_ID for FAILED_NODE (at most once per invocation)."""
    trap_task = rs.dag.forensic_tasks.get(trap_id)
    if trap_task is None or rs.run_cancel.is_set() or not rs.claim_trap(trap_id):
        return
    force_set(rs, FORENSIC_OWNER, "failed_task", failed_node)
    force_set(rs, FORENSIC_OWNER, "error_message", error)
    rs.audit(
        "forensic_trap_fired",
        {"trap_id": trap_id, "failed_task": failed_node, "scope": "task"},
    )
    spec = NodeSpec(trap_id, trap_task, trap_task.name, is_forensic=True)
    yield from run_trap_node(rs, spec, failed_node, error)


def run_trap_node(
    rs: RunState, spec: NodeSpec, failed_node: str | None, error: str
) -> Steps[NodeResult]:
    """Run a trap through the full lifecycle and record its ``trap_output`` forensic log."""
    result = yield from run_node(rs, spec)
    text, _ = output_head(result.log_head)
    rs.forensic_log(spec.node_id, "trap_output", text, failed_node, error)
    return result
