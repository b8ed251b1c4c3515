"""A node's attempt loop: one row per attempt, retries under a ``RetryPolicy``, registration
of outputs (docs/workflow-files.md, docs/variables.md)."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from wf.contextmap import (
    RESERVED_NAMES,
    ContextMapError,
)
from wf.dag.model import TaskDefinition
from wf.durations import backoff_delay
from wf.executor.cancel import AttemptCancel
from wf.executor.effects import Sleep, Spawn, Steps
from wf.executor.events import ProgressEventKind as K
from wf.executor.outcomes import base_row, cancelled, final_failure, insert_row, success, update_row
from wf.executor.outputs import OutputError, parse_output_secrets, register_value
from wf.executor.prepare import NodeSpec, Prepared, environment
from wf.executor.runner import AttemptResult, AttemptSpec, Outcome
from wf.executor.runstate import NodeResult, NodeStatus, RunState, tail_text
from wf.files import make_private_dirs
from wf.secrets import scrub_file
from wf.storage import TaskExecution, TaskStatus
from wf.storage.times import now_utc

log = logging.getLogger("wf.executor")


@dataclass(frozen=True)
class RetryPolicy:
    """The retry rules of one task, in one place (docs/workflow-files.md, ``retries``).

    A node execution has ``attempts`` attempts at most. Every failed attempt is retried while
    attempts remain, timeouts included; a cancelled one never is (nor an early failure, which
    has no attempts). Attempt k ≥ 2 waits ``min(delay × backoff^(k−2), max_delay)`` first.
    """

    attempts: int = 1
    delay: float = 0.0
    backoff: float = 1.0
    max_delay: float | None = None

    @classmethod
    def of(cls, task: TaskDefinition) -> RetryPolicy:
        """The policy of TASK's ``retries``, ``retry_delay``, ``retry_backoff`` and
        ``retry_max_delay``."""
        return cls(task.retries + 1, task.retry_delay, task.retry_backoff, task.retry_max_delay)

    def delay_before(self, k: int) -> float:
        """Seconds to wait before attempt K ≥ 2."""
        return backoff_delay(self.delay, self.backoff, k - 2, self.max_delay)

    def retries_after(self, k: int, *, cancelled: bool) -> bool:
        """Whether failed attempt K is followed by another."""
        return k < self.attempts and not cancelled


def attempt_dir(rs: RunState, node_id: str) -> str:
    """``<logs>/<run_id>/<node_id>``, created 0700 on first use (one syscall when it exists)."""
    path = os.path.join(rs.run_log_dir, node_id)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except FileNotFoundError:
        make_private_dirs(Path(path))  # the run's directory went missing: recreate it all
    return path


def remove_stale(*paths: str) -> None:
    """Remove what a run killed before this attempt was on record may have left under its
    number (a resumed attempt starts with none of it: wf does not create its WF_OUTPUT file)."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def start_failure(exc: OSError) -> AttemptResult:
    """An attempt whose log directory or files cannot be created.

    See docs/executors.md#how-a-task-runs.
    """
    reason = exc.strerror or str(exc)
    if exc.filename:
        reason += f": {exc.filename}"
    now = time.time()
    return AttemptResult(Outcome.START_FAILED, -1, f"failed to start command: {reason}", now, now)


def run_attempts(
    rs: RunState, spec: NodeSpec, prepared: Prepared, reason: str | None
) -> Steps[NodeResult]:
    task = spec.task
    cancel = AttemptCancel(rs.run_cancel, None if spec.is_forensic else rs.failfast)
    kill_grace = task.kill_grace if task.kill_grace is not None else rs.settings.kill_grace
    retry = RetryPolicy.of(task)
    last: AttemptResult | None = None
    error: str | None = None
    row = TaskExecution()
    for k in range(1, retry.attempts + 1):
        n = rs.next_attempt(spec.node_id)
        row = base_row(rs, spec, n)
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
            delay = retry.delay_before(k)
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
            return cancelled(rs, spec, row, None, cancel.reason)
        directory = os.path.join(rs.run_log_dir, spec.node_id)
        log_path = f"{directory}/attempt_{n}.log"
        output_path = f"{directory}/attempt_{n}.output"
        row.log_path = log_path
        attempt_spec = AttemptSpec(
            command=prepared.cmd,
            env=environment(rs, spec, prepared, n, output_path),
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
            attempt_dir(rs, spec.node_id)
            if rs.resuming:
                remove_stale(output_path)
            outcome = yield Spawn(attempt_spec, cancel, on_start)
            assert isinstance(outcome, AttemptResult)
            last = outcome
        except OSError as exc:  # its log or WF_OUTPUT file cannot be created: a failed start
            last = start_failure(exc)
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
            return cancelled(rs, spec, row, last, cancel.reason)
        error = last.error
        if last.ok:
            try:
                register(rs, spec, prepared, last, (log_path, output_path))
            except (OutputError, ContextMapError) as exc:
                error = str(exc)
            else:
                return success(rs, spec, row, last)
        row.state = TaskStatus.FAILED
        row.exit_code = last.exit_code
        row.error_message = error
        row.stack_trace = tail_text(last.log_tail) if has_log else None
        update_row(rs, row)
        if last.outcome is Outcome.TIMED_OUT:
            rs.forensic_log(spec.node_id, "timeout", f"attempt {n} {error}", spec.node_id, error)
        if not retry.retries_after(k, cancelled=cancel.is_set()):
            break
    assert last is not None
    result = NodeResult(
        spec.node_id,
        NodeStatus.FAILED,
        ignored=task.ignore_failure,
        attempts=k,
        error=row.error_message,
        end_time=row.end_time,
        exit_code=row.exit_code,
        log_path=row.log_path,
        log_head=last.log_head,
    )
    return (yield from final_failure(rs, spec, result))


def register(
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
