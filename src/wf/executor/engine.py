"""The engine: one loop that owns a run, asks its policy what may start, and records outcomes."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

from wf.contextmap import GLOBAL_FORENSIC_OWNER, ContextMap
from wf.dag.model import DAG, GLOBAL_TRAP_ID
from wf.executor.cancel import AttemptCancel, CancelScope, CancelToken
from wf.executor.crash import node_crashed
from wf.executor.effects import Sleep, Steps, drive
from wf.executor.events import ProgressEventKind as K
from wf.executor.heartbeat import Heartbeat
from wf.executor.hook import run_failure_hook
from wf.executor.lifecycle import NodeSpec, force_set, run_node, run_trap_node
from wf.executor.policy import (
    LevelPolicy,
    PoolGate,
    SchedulerPolicy,
    SequentialPolicy,
    WorkStealingPolicy,
)
from wf.executor.runner import AttemptHandle, RunnerSession
from wf.executor.runstate import NodeResult, NodeStatus, RunState
from wf.storage import ExecutionMode, Run, RunStatus
from wf.storage.times import now_utc

log = logging.getLogger("wf.executor")

API_CANCEL_REASON = "run cancelled"
_TICK = 0.05


def make_policy(
    mode: ExecutionMode | str,
    dag: DAG,
    nodes: list[str],
    *,
    priority: Mapping[str, float] | None = None,
) -> SchedulerPolicy:
    """The scheduler policy of MODE over NODES (a subset of the DAG on resume)."""
    deps = {n: dag.nodes[n].dependencies for n in nodes}
    chosen = set(nodes)
    demands = {n: dag.nodes[n].task.pools for n in nodes if dag.nodes[n].task.pools}
    pools = PoolGate(dag.pools, demands) if demands else None
    mode = ExecutionMode(mode)
    if mode is ExecutionMode.SEQUENTIAL:
        return SequentialPolicy([n for n in dag.sequential_order() if n in chosen], deps, pools)
    if mode is ExecutionMode.PARALLEL:
        levels = [[n for n in level if n in chosen] for level in dag.levels]
        return LevelPolicy(levels, deps, pools)
    return WorkStealingPolicy(nodes, deps, priority=priority, pools=pools)


def node_spec(dag: DAG, node_id: str) -> NodeSpec:
    """The NodeSpec of a DAG node."""
    node = dag.nodes[node_id]
    return NodeSpec(
        node_id,
        node.task,
        node.name,
        matrix_vars=dict(node.matrix_vars),
        is_expanded=node.is_expanded,
    )


class ExternalCancel:
    """Watches the caller's cancel event and the run deadline; cancels the run scope."""

    def __init__(
        self,
        run_cancel: CancelScope,
        event: threading.Event | None,
        timeout: float | None,
    ) -> None:
        self._run_cancel = run_cancel
        self._event = event
        self._timeout = timeout
        self._deadline = time.monotonic() + timeout if timeout else None

    def check(self) -> None:
        """Cancel the run when the caller asked for it or the deadline passed."""
        event = self._event
        token = event if isinstance(event, CancelToken) else None
        if self._run_cancel.is_set():
            if token is not None and token.hard:
                # A kill-now request (second Ctrl+C) that arrived after the first one.
                self._run_cancel.cancel(self._run_cancel.reason, hard=True)
            return
        if event is not None and event.is_set():
            reason = (token.reason if token is not None else "") or API_CANCEL_REASON
            self._run_cancel.cancel(reason, hard=token is not None and token.hard)
        elif self._deadline is not None and time.monotonic() >= self._deadline:
            from wf.durations import format_duration

            self._run_cancel.cancel(f"run timed out after {format_duration(self._timeout or 0)}")


def schedule(
    rs: RunState,
    policy: SchedulerPolicy,
    workers: int,
    external: ExternalCancel,
    session: RunnerSession,
) -> None:
    """Run the nodes the policy hands out, up to WORKERS at once (see ``EngineLoop``)."""
    EngineLoop(rs, policy, workers, external, session).run()


class EngineLoop:
    """One run's scheduling loop: everything happens on the calling thread.

    Each node's lifecycle is a generator that yields when it must wait (an attempt, a retry
    delay). One turn of the loop: wait in the runner session (``wait_time``), notice a runner
    that is gone (``check_runner``), move on the nodes whose attempts ended
    (``attempts_over``), wake retry delays that are due (``wake_sleepers``), apply the
    caller's cancel event and the deadline (``apply_cancellation``), start what became ready
    (``start_ready``), and commit queued records when the writer says they are due. No thread
    switches on the hot path.
    """

    def __init__(
        self,
        rs: RunState,
        policy: SchedulerPolicy,
        workers: int,
        external: ExternalCancel,
        session: RunnerSession,
    ) -> None:
        self.rs = rs
        self.policy = policy
        self.external = external
        self.session = session
        self.writer = rs.writer
        # No more at once than nodes: `-j 1000000` must not size anything by a million.
        self.slots = max(1, min(workers, len(rs.dag.nodes)))
        self.nodes: dict[str, Steps[NodeResult]] = {}  # node ID -> its lifecycle, while it runs
        self.sleepers: list[tuple[float, int, str, AttemptCancel]] = []  # heap of retry delays
        self.crash: list[BaseException] = []
        self._count = itertools.count()
        rs.on_final_failure = self.fail_fast
        rs.external_check = external.check

    def run(self) -> None:
        """Until nothing runs and nothing more can start; re-raises an engine crash."""
        self.external.check()  # a run cancelled before it starts starts nothing
        self.start_ready()
        while self.nodes:
            over = self.session.wait(self.wait_time())
            self.check_runner()
            self.attempts_over(over)
            self.wake_sleepers()
            self.apply_cancellation()
            self.start_ready()
            self.writer.flush_if_due(time.monotonic())
        if self.crash:
            raise self.crash[0]

    # -- one turn ----------------------------------------------------------------------------
    def wait_time(self) -> float:
        """How long the runner may block: until the next retry delay or commit is due."""
        now = time.monotonic()
        timeout = _TICK
        if self.sleepers:
            timeout = min(timeout, self.sleepers[0][0] - now)
        due = self.writer.due_at
        if due is not None:
            timeout = min(timeout, due - now)
        return max(0.0, timeout)

    def check_runner(self) -> None:
        """A runner that is gone (e.g. the Dask scheduler) has failed its attempts: nothing
        more can run, and fail-fast keeps their nodes from retrying."""
        fatal = self.session.fatal
        if fatal is not None and self.rs.runner_error is None:
            self.rs.runner_error = fatal
            self.rs.failfast.cancel(fatal)
            self.policy.stop()
            self.session.wake()

    def attempts_over(self, over: Sequence[AttemptHandle]) -> None:
        """Move on the nodes whose attempts ended."""
        for attempt in over:
            assert isinstance(attempt.tag, str)
            self.step(attempt.tag, attempt.result)

    def wake_sleepers(self) -> None:
        """Resume the nodes whose retry delay is over, or whose attempt was cancelled."""
        if not self.sleepers:
            return
        now = time.monotonic()
        due = [s for s in self.sleepers if s[0] <= now or s[3].is_set()]
        if not due:
            return
        self.sleepers[:] = [s for s in self.sleepers if not (s[0] <= now or s[3].is_set())]
        heapq.heapify(self.sleepers)
        for _, _, node_id, cancel in sorted(due, key=lambda s: s[1]):
            self.step(node_id, cancel.is_set())

    def apply_cancellation(self) -> None:
        """The caller's cancel event and the run deadline (see ``ExternalCancel``)."""
        was_set = self.rs.run_cancel.is_set()
        self.external.check()
        if self.rs.run_cancel.is_set() and not was_set:
            self.policy.stop()
            self.session.wake()

    def start_ready(self) -> None:
        """Start the nodes the policy hands out while slots are free."""
        rs = self.rs
        if rs.run_cancel.is_set() or rs.failfast.is_set() or self.crash:
            self.policy.stop()
        while len(self.nodes) < self.slots:
            ready = self.policy.next_ready(self.slots - len(self.nodes))
            if not ready:
                return
            for node_id in ready:
                self.nodes[node_id] = run_node(rs, node_spec(rs.dag, node_id))
                self.step(node_id)

    # -- nodes -------------------------------------------------------------------------------
    def step(self, node_id: str, value: object = None) -> None:
        """Move NODE_ID's lifecycle on until it waits or ends."""
        steps = self.nodes[node_id]
        error: Exception | None = None
        while True:
            try:
                effect = steps.throw(error) if error is not None else steps.send(value)
            except StopIteration as stop:
                self.finished(node_id, stop.value)
                return
            except BaseException as exc:  # recorded; the engine must not hang
                self.finished(node_id, exc)
                return
            value, error = None, None
            if isinstance(effect, Sleep):
                if effect.seconds > 0 and not effect.cancel.is_set():
                    wake = time.monotonic() + effect.seconds
                    heapq.heappush(self.sleepers, (wake, next(self._count), node_id, effect.cancel))
                    return
                value = effect.cancel.is_set()
                continue
            try:
                attempt = self.session.start(
                    effect.spec, effect.cancel, on_start=effect.on_start, tag=node_id
                )
            except Exception as exc:  # OSError: a failed start; anything else: a crash
                error = exc
                continue
            if attempt.result is None:
                self.writer.attempt_started(node_id, attempt)
                return
            value = attempt.result

    def finished(self, node_id: str, outcome: NodeResult | BaseException) -> None:
        """NODE_ID's lifecycle ended: an exception fails the node and the run goes on; anything
        else that escaped it (KeyboardInterrupt…) is recorded as a failure, then re-raised."""
        del self.nodes[node_id]
        if isinstance(outcome, Exception):  # the node fails; the run goes on to its end
            outcome = node_crashed(self.rs, node_id, outcome)
        elif isinstance(outcome, BaseException):
            log.error("node %s crashed", node_id, exc_info=outcome)
            self.crash.append(outcome)
            outcome = NodeResult(
                node_id,
                NodeStatus.FAILED,
                error=f"internal error: {type(outcome).__name__}: {outcome}",
                end_time=now_utc(),
                attempts=1,
            )
        self.rs.results[node_id] = outcome
        self.policy.finished(node_id, completed=outcome.completed)

    def fail_fast(self, node_id: str) -> None:
        """A non-ignored final failure: with a fail-fast policy, stop and cancel the rest."""
        if self.policy.fail_fast:
            self.rs.failfast.cancel(f"task {node_id} failed")
            self.policy.stop()
            self.session.wake()


def root_cause(rs: RunState) -> NodeResult | None:
    """The non-ignored final failure that ended first (docs/cli.md#wf-run)."""
    failures = [r for r in rs.results.values() if r.fails_run]
    if not failures:
        return None
    return min(failures, key=lambda r: (r.end_time or now_utc(), r.node_id))


def failure_message(result: NodeResult) -> str:
    """``task X failed after N attempt(s): <last error>``."""
    return f"task {result.node_id} failed after {result.attempts} attempt(s): {result.error}"


def decide_outcome(rs: RunState, scheduled: list[str]) -> tuple[RunStatus, str | None, str | None]:
    """The run's status, error and failed task once scheduling is over."""
    if rs.run_cancel.is_set():
        reason = rs.run_cancel.reason
        error = "cancelled" if reason == API_CANCEL_REASON else f"cancelled: {reason}"
        return RunStatus.CANCELLED, error, None
    cause = root_cause(rs)
    if rs.runner_error is not None:
        return RunStatus.FAILED, rs.runner_error, cause.node_id if cause is not None else None
    if cause is not None:
        return RunStatus.FAILED, failure_message(cause), cause.node_id
    missing = [n for n in scheduled if n not in rs.results]
    if missing:
        return (
            RunStatus.FAILED,
            f"{len(missing)} task(s) have not succeeded: " + ", ".join(missing),
            None,
        )
    return RunStatus.SUCCESS, None, None


def run_global_trap(
    rs: RunState, failed_task: str | None, error: str, session: RunnerSession
) -> None:
    """Fire the workflow's global trap after the run is determined failed.

    See docs/workflow-files.md#forensic-tasks-and-traps.
    """
    trap = rs.dag.global_trap
    if trap is None or rs.run_cancel.is_set() or not rs.claim_trap(GLOBAL_TRAP_ID):
        return
    force_set(rs, GLOBAL_FORENSIC_OWNER, "failed_dag", rs.workflow_name)
    force_set(rs, GLOBAL_FORENSIC_OWNER, "failed_task", failed_task or "")
    force_set(rs, GLOBAL_FORENSIC_OWNER, "error_message", error)
    rs.audit(
        "forensic_trap_fired",
        {"trap_id": trap.task.id, "failed_task": failed_task, "scope": "global"},
    )
    spec = NodeSpec(GLOBAL_TRAP_ID, trap.task, trap.task.name, is_forensic=True)
    with _watch_external(rs):
        drive(run_trap_node(rs, spec, failed_task, error), session, on_started=rs.writer.flush)


@contextlib.contextmanager
def _watch_external(rs: RunState) -> Iterator[None]:
    """Keep applying the cancel event and deadline while the global trap runs.

    See docs/workflow-files.md#forensic-tasks-and-traps.

    The scheduler loop, which normally does this, has already returned.
    """
    check = rs.external_check
    if check is None:
        yield
        return
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(_TICK):
            check()

    thread = threading.Thread(target=watch, name="wf-trap-cancel", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def finish_run(
    rs: RunState,
    run: Run,
    status: RunStatus,
    error: str | None,
    failed_task: str | None,
    heartbeat: Heartbeat,
    session: RunnerSession,
    *,
    warn: Callable[[str], None] | None = None,
) -> Run:
    """The end of a run: global trap, final snapshot, run row, records, hook.

    See docs/architecture.md.
    """
    if status is RunStatus.FAILED:
        run_global_trap(rs, failed_task, error or "", session)
    rs.snapshot("final", full=True)
    rs.writer.flush()
    end = now_utc()
    current = rs.store.get_run(run.id)
    current.status = status
    current.end_time = end
    start = current.start_time or end
    current.duration_ms = max(0, round((end - start).total_seconds() * 1000))
    current.error = error
    current.failed_task = failed_task
    current.heartbeat_at = end
    heartbeat.stop()
    rs.store.update_run(current)
    rs.audit(
        "run_completed",
        {
            "status": str(status),
            "duration_ms": current.duration_ms,
            "error": error,
            "failed_task": failed_task,
        },
    )
    rs.writer.flush()
    rs.emit(K.RUN_DONE, run_status=str(status), error=error)
    rs.events.close()
    if status is RunStatus.FAILED and rs.settings.on_failure_hook:
        run_failure_hook(
            rs.settings.on_failure_hook, current, kill_grace=rs.settings.kill_grace, warn=warn
        )
    return rs.store.get_run(run.id)


def apply_runtime_vars(ctx: ContextMap, runtime_vars: Mapping[str, str] | None) -> None:
    """Set ``--var`` values with the ``__runtime__`` owner."""
    from wf.contextmap import RUNTIME_OWNER

    for name, value in (runtime_vars or {}).items():
        ctx.set(RUNTIME_OWNER, name, value)
