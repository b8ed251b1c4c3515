"""One path that opens, runs and closes a run, for ``execute`` and ``resume`` alike.

``run_invocation`` does every step the two share (docs/architecture.md, "One run"): it opens
the runner's session before any run row exists, has the ``Opening`` create or claim the row
(with the run's graph), starts the heartbeat, builds the run state (events, writer, cancel
scopes, cache), lets the opening set up the variables and announce the run, schedules the nodes with
the executor's policy, and finishes the run (global trap, final records, hook); whatever
happens, the heartbeat, writer, events and session are closed. What differs between a new run
and a resumed one is an ``Opening``: ``NewRun`` here, ``ResumedRun`` in ``executor.resume``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from wf.contextmap import RESERVED_NAMES, ContextMap
from wf.dag.model import DAG
from wf.errors import SecurityError
from wf.executor.cache import make_run_cache
from wf.executor.cancel import CancelScope
from wf.executor.engine import apply_runtime_vars, finish_run
from wf.executor.events import EventDispatcher, ProgressCallback
from wf.executor.events import ProgressEventKind as K
from wf.executor.heartbeat import Heartbeat
from wf.executor.runner import RunnerSession
from wf.executor.runstate import RunState
from wf.executor.writer import StoreWriter
from wf.secrets import Masker, Secrets, active
from wf.security import validate_variable_name
from wf.storage import Run, RunStatus, Store
from wf.storage.procinfo import current_owner
from wf.storage.times import now_utc

if TYPE_CHECKING:
    from wf.executor.executors import _EngineExecutor

Outcome = tuple[RunStatus, str | None, str | None]


@dataclass
class Invocation:
    """What the caller of ``execute`` or ``resume`` asked for, beyond the run itself."""

    progress: ProgressCallback | None = None
    print_output: bool = False
    runtime_vars: Mapping[str, str] | None = None
    cancel: threading.Event | None = None
    timeout: float | None = None
    #: The run's secret values, masked wherever wf writes (docs/secrets.md).
    masker: Masker = field(default_factory=Masker)
    #: Declared secrets given to every task's environment.
    secret_env: dict[str, str] = field(default_factory=dict)


class Opening(Protocol):
    """How a run comes to exist (created, or claimed for a resume) and what is special to it."""

    dag: DAG
    #: The nodes to schedule, in sequential order.
    nodes: list[str]

    def open_row(self, executor: _EngineExecutor, session: RunnerSession) -> Run:
        """Create or claim the run row (the first write of the invocation) and record the
        run's graph with it, so that no reader sees a run without its graph."""
        ...

    def state(self, run: Run) -> dict[str, Any]:
        """``RunState`` fields of this kind of run (context, clean env, resume decisions)."""
        ...

    def prepare(self, rs: RunState, executor: _EngineExecutor) -> None:
        """Set up the variables before the first checkpoint."""
        ...

    def announce(
        self,
        rs: RunState,
        executor: _EngineExecutor,
        session: RunnerSession,
        scheduling: dict[str, object] | None,
    ) -> None:
        """The opening audit entry and the ``run_started`` progress event."""
        ...

    def outcome(self, rs: RunState, outcome: Outcome) -> Outcome:
        """The run's outcome once scheduling is over (a resume may judge it differently)."""
        ...


def run_invocation(executor: _EngineExecutor, opening: Opening, invocation: Invocation) -> Run:
    """Run OPENING's run to a terminal state and return its final row."""
    with active(invocation.masker):
        return _run_invocation(executor, opening, invocation)


def _run_invocation(executor: _EngineExecutor, opening: Opening, invocation: Invocation) -> Run:
    store = executor.store
    session = executor.runner.open()  # a runner that cannot be reached raises: no run row
    try:
        run = opening.open_row(executor, session)
        heartbeat = Heartbeat(store, run.id).start()
        rs = RunState(
            store=store,
            dag=opening.dag,
            run_id=run.id,
            workflow_name=opening.dag.name,
            mode=executor.mode,
            settings=executor.settings,
            events=EventDispatcher(invocation.progress),
            writer=StoreWriter(store),
            run_cancel=CancelScope(),
            failfast=CancelScope(),
            print_output=invocation.print_output,
            masker=invocation.masker,
            secret_env=invocation.secret_env,
            **opening.state(run),
        )
        rs.cache = make_run_cache(store, opening.dag, executor.cache)
        try:
            opening.prepare(rs, executor)
            rs.snapshot("checkpoint", full=True)
            durations = store.task_durations(opening.dag.name)
            rs.writer.learn(durations)
            priority, scheduling = executor.scheduling(opening.dag, opening.nodes, durations)
            opening.announce(rs, executor, session, scheduling)
            outcome = executor.schedule_nodes(
                rs, opening.nodes, priority, invocation.cancel, invocation.timeout, session
            )
            status, error, failed_task = opening.outcome(rs, outcome)
            return finish_run(
                rs, run, status, error, failed_task, heartbeat, session, warn=executor.warn
            )
        finally:
            heartbeat.stop()
            rs.writer.close()
            rs.events.close()
    finally:
        session.close()


@dataclass
class NewRun:
    """``execute``: a new run row, ``--var``s, ``run_started``."""

    dag: DAG
    ctx: ContextMap
    clean_env: bool
    runtime_vars: Mapping[str, str] | None
    timeout: float | None
    nodes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.nodes = self.dag.sequential_order()

    def open_row(self, executor: _EngineExecutor, session: RunnerSession) -> Run:
        pid, host, started_at = current_owner()
        now = now_utc()
        run = Run(
            workflow_name=self.dag.name,
            workflow_file=self.dag.file_path,
            status=RunStatus.RUNNING,
            start_time=now,
            total_tasks=self.dag.total_tasks,
            tags=list(self.dag.tags),
            execution_mode=executor.mode,
            max_parallel=executor.workers_for(session),
            timeout_ms=round((self.timeout or 0) * 1000),
            clean_env=self.clean_env,
            owner_pid=pid,
            owner_host=host,
            owner_started_at=started_at,
            heartbeat_at=now,
        )
        store = executor.store
        with store.transaction():  # a reader never sees the run without its graph (web UI)
            run.id = store.create_run(run)
            record_graph(store, run.id, self.dag)
        return run

    def state(self, run: Run) -> dict[str, Any]:
        return {"ctx": self.ctx, "clean_env": self.clean_env}

    def prepare(self, rs: RunState, executor: _EngineExecutor) -> None:
        apply_runtime_vars(rs.ctx, self.runtime_vars)

    def announce(
        self,
        rs: RunState,
        executor: _EngineExecutor,
        session: RunnerSession,
        scheduling: dict[str, object] | None,
    ) -> None:
        rs.emit(K.RUN_STARTED, run_status="running")
        started: dict[str, object] = {
            "workflow": self.dag.name,
            "mode": str(executor.mode),
            "max_parallel": executor.workers_for(session),
            "tags": list(self.dag.tags),
            **executor.runner.describe(),
        }
        if scheduling is not None:
            started["scheduling"] = scheduling
        rs.audit("run_started", started)

    def outcome(self, rs: RunState, outcome: Outcome) -> Outcome:
        return outcome


def record_graph(store: Store, run_id: str, dag: DAG) -> None:
    """The dag_cache row and one task_dependencies row per edge."""
    edges = [
        (node_id, dep)
        for node_id in dag.sequential_order()
        for dep in dag.nodes[node_id].dependencies
    ]
    with store.transaction():
        store.upsert_dag_cache(
            run_id,
            dag.to_cache_json(),
            total_nodes=dag.total_tasks,
            total_levels=len(dag.levels),
            has_parallel_tasks=any(len(level) > 1 for level in dag.levels),
        )
        store.replace_task_dependencies(run_id, edges)


def run_secrets(dag: DAG, given: Secrets | None) -> Secrets:
    """The run's secrets: GIVEN, with each declared one not in it read from wf's environment.

    Raises SecretError naming the declared secrets that have no value (before any run row).
    """
    import os

    from wf.secrets import resolve_secrets

    return resolve_secrets(
        dag.secrets,
        environ=os.environ,
        env_file=given.env if given is not None else None,
        variables=given.variables if given is not None else None,
    )


def runtime_var_problem(name: str) -> str | None:
    """Why NAME cannot be a runtime variable (``--var``), or None when it can."""
    try:
        validate_variable_name(name)
    except SecurityError as exc:
        return str(exc)
    if name in RESERVED_NAMES:
        return f'variable "{name}" is reserved'
    return None


def validate_options(runtime_vars: Mapping[str, str] | None, timeout: float | None) -> None:
    """Check the options: raise ValueError before anything is written."""
    for name in runtime_vars or {}:
        problem = runtime_var_problem(name)
        if problem is not None:
            raise ValueError(problem)
    if timeout is not None and timeout < 0:
        raise ValueError("timeout must be >= 0")
