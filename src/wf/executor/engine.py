"""The engine: one loop that owns a run, asks its policy what may start, and records outcomes."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping

from wf.contextmap import GLOBAL_FORENSIC_OWNER, ContextMap
from wf.dag.model import DAG, GLOBAL_TRAP_ID
from wf.executor.cancel import CancelScope
from wf.executor.events import ProgressEventKind as K
from wf.executor.heartbeat import Heartbeat
from wf.executor.hook import run_failure_hook
from wf.executor.lifecycle import NodeSpec, force_set, run_node, run_trap_node
from wf.executor.policy import LevelPolicy, SchedulerPolicy, SequentialPolicy, WorkStealingPolicy
from wf.executor.runstate import NodeResult, NodeStatus, RunState
from wf.storage import Run, RunStatus
from wf.storage.times import now_utc

log = logging.getLogger("wf.executor")

API_CANCEL_REASON = "run cancelled"
_TICK = 0.05


def make_policy(
    mode: str,
    dag: DAG,
    nodes: list[str],
    *,
    priority: Mapping[str, float] | None = None,
) -> SchedulerPolicy:
    """The scheduler policy of MODE over NODES (a subset of the DAG on resume)."""
    deps = {n: dag.nodes[n].dependencies for n in nodes}
    chosen = set(nodes)
    if mode == "sequential":
        return SequentialPolicy([n for n in dag.sequential_order() if n in chosen], deps)
    if mode == "parallel":
        levels = [[n for n in level if n in chosen] for level in dag.levels]
        return LevelPolicy(levels, deps)
    return WorkStealingPolicy(nodes, deps, priority=priority)


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
        if self._run_cancel.is_set():
            if getattr(self._event, "hard", False):
                # A kill-now request (second Ctrl+C) that arrived after the first one.
                self._run_cancel.cancel(self._run_cancel.reason, hard=True)
            return
        if self._event is not None and self._event.is_set():
            reason = getattr(self._event, "reason", None) or API_CANCEL_REASON
            self._run_cancel.cancel(reason, hard=bool(getattr(self._event, "hard", False)))
        elif self._deadline is not None and time.monotonic() >= self._deadline:
            from wf.durations import format_duration

            self._run_cancel.cancel(f"run timed out after {format_duration(self._timeout or 0)}")


def schedule(
    rs: RunState,
    policy: SchedulerPolicy,
    workers: int,
    external: ExternalCancel,
) -> None:
    """Run the nodes the policy hands out on WORKERS threads until nothing more can start.

    Workers pull from the policy themselves: the thread that finishes a node records it and
    starts the next ready one at once, with no hand-off through another thread. The calling
    thread only watches for cancellation (caller's event, deadline) while the workers run.
    """
    cond = threading.Condition()
    crash: list[BaseException] = []

    def failfast(node_id: str) -> None:
        if policy.mode == "work_stealing":
            rs.failfast.cancel(f"task {node_id} failed")
            with cond:
                policy.stop()
                cond.notify_all()

    def stopping() -> bool:
        return rs.run_cancel.is_set() or rs.failfast.is_set() or bool(crash)

    def next_node() -> str | None:
        """The next node for this worker, or None when the run has nothing more to start."""
        with cond:
            while True:
                if stopping():
                    policy.stop()
                ready = policy.next_ready(1)
                if ready:
                    return ready[0]
                if not policy.running:
                    cond.notify_all()
                    return None
                cond.wait()

    def finished(node_id: str, outcome: NodeResult | BaseException) -> None:
        if isinstance(outcome, BaseException):
            log.error("node %s crashed", node_id, exc_info=outcome)
            crash.append(outcome)
            outcome = NodeResult(
                node_id,
                NodeStatus.FAILED,
                error=f"internal error: {type(outcome).__name__}: {outcome}",
                end_time=now_utc(),
                attempts=1,
            )
        with cond:
            rs.results[node_id] = outcome
            policy.finished(node_id, completed=outcome.completed)
            cond.notify_all()

    def work() -> None:
        while (node_id := next_node()) is not None:
            try:
                result: NodeResult | BaseException = run_node(rs, node_spec(rs.dag, node_id))
            except BaseException as exc:  # recorded; the engine must not hang
                result = exc
            finished(node_id, result)

    rs.on_final_failure = failfast
    rs.external_check = external.check
    external.check()  # a run cancelled before it starts starts nothing
    # No more threads than nodes: `-j 1000000` must not start a million idle threads.
    count = max(1, min(workers, len(rs.dag.nodes)))
    threads = [
        threading.Thread(target=work, name=f"wf-worker-{i}", daemon=True) for i in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(_TICK)
            was_set = rs.run_cancel.is_set()
            external.check()
            if rs.run_cancel.is_set() and not was_set:
                with cond:
                    policy.stop()
                    cond.notify_all()
    if crash:
        raise crash[0]


def root_cause(rs: RunState) -> NodeResult | None:
    """The non-ignored final failure that ended first (SPEC §4.11)."""
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


def run_global_trap(rs: RunState, failed_task: str | None, error: str) -> None:
    """Fire the workflow's global trap after the run is determined failed (SPEC §4.9)."""
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
        run_trap_node(rs, spec, failed_task, error)


@contextlib.contextmanager
def _watch_external(rs: RunState) -> Iterator[None]:
    """Keep applying the cancel event and deadline while the global trap runs (SPEC §4.9).

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
    *,
    warn: Callable[[str], None] | None = None,
) -> Run:
    """§4.1 steps 7–10: global trap, final snapshot, run row, records, hook."""
    if status is RunStatus.FAILED:
        run_global_trap(rs, failed_task, error or "")
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
