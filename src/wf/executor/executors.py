"""The three public executors (docs/api.md#run-it): one engine, three scheduling policies."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from wf.contextmap import ContextMap
from wf.dag.model import DAG
from wf.executor.cache import CacheOptions, log_dir_nodes
from wf.executor.engine import (
    ExternalCancel,
    decide_outcome,
    make_policy,
    schedule,
)
from wf.executor.events import ProgressCallback
from wf.executor.logdirs import prepare_log_dirs
from wf.executor.priority import CRITICAL_PATH, FIFO, SCHEDULES, critical_path_priorities
from wf.executor.runner import AttemptRunner, RunnerSession
from wf.executor.runsetup import (
    Invocation,
    NewRun,
    run_invocation,
    run_secrets,
    validate_options,
)
from wf.executor.runstate import EngineSettings, RunState
from wf.secrets import Secrets
from wf.storage import ExecutionMode, Run, RunStatus, Store

DEFAULT_WORKERS = 4


class Executor(Protocol):
    """What every executor offers."""

    store: Store

    def execute(
        self,
        dag: DAG,
        ctx_map: ContextMap | None = None,
        *,
        progress: ProgressCallback | None = None,
        print_output: bool = False,
        clean_env: bool = False,
        runtime_vars: Mapping[str, str] | None = None,
        cancel: threading.Event | None = None,
        timeout: float | None = None,
        secrets: Secrets | None = None,
    ) -> Run: ...

    def resume(
        self,
        run_id: str,
        *,
        progress: ProgressCallback | None = None,
        print_output: bool = False,
        clean_env: bool | None = None,
        runtime_vars: Mapping[str, str] | None = None,
        cancel: threading.Event | None = None,
        timeout: float | None = None,
        from_task: str | None = None,
        only: list[str] | None = None,
        rerun: list[str] | None = None,
        secrets: Secrets | None = None,
    ) -> Run: ...


class _EngineExecutor:
    """The engine with a fixed mode; subclasses only choose the policy."""

    mode: ExecutionMode = ExecutionMode.SEQUENTIAL
    #: Concurrency from the runner's capacity (a Dask cluster's threads) instead of a number.
    auto_workers: bool = False

    def __init__(
        self,
        store: Store,
        workers: int = 1,
        *,
        logs_dir: str | Path | None = None,
        on_failure_hook: str | None = None,
        kill_grace: float = 5.0,
        log_max_bytes: int = 67_108_864,
        warn: Callable[[str], None] | None = None,
        runner: AttemptRunner | None = None,
        cache: CacheOptions | None = None,
    ) -> None:
        self.store = store
        #: Incremental runs (docs/caching.md): --force, --force-task, --explain.
        self.cache = cache or CacheOptions()
        if runner is None:
            from wf.executor.local import LocalRunner

            runner = LocalRunner()
        self.runner: AttemptRunner = runner
        self.max_parallel = workers if workers > 0 else DEFAULT_WORKERS
        if logs_dir is None:
            from wf.executor.logdefault import default_logs_dir

            logs_dir = default_logs_dir(store)  # next to the database (docs/api.md)
        self.settings = EngineSettings(
            logs_dir=Path(logs_dir),
            kill_grace=kill_grace,
            log_max_bytes=log_max_bytes,
            on_failure_hook=on_failure_hook or None,
        )
        self.warn = warn

    def scheduling(
        self, dag: DAG, nodes: list[str], durations: Mapping[str, float]
    ) -> tuple[Mapping[str, float] | None, dict[str, object] | None]:
        """Start-order priorities for NODES (None: the policy's own order) and their audit
        description (None: nothing to record); DURATIONS is the workflow's history."""
        return None, None

    @property
    def workers(self) -> int:
        """Concurrent attempts: 1 for sequential."""
        return 1 if self.mode is ExecutionMode.SEQUENTIAL else self.max_parallel

    def workers_for(self, session: RunnerSession) -> int:
        """Concurrent attempts of a run in SESSION (its capacity when ``auto_workers``)."""
        if self.auto_workers and session.capacity:
            return session.capacity
        return self.workers

    def execute(
        self,
        dag: DAG,
        ctx_map: ContextMap | None = None,
        *,
        progress: ProgressCallback | None = None,
        print_output: bool = False,
        clean_env: bool = False,
        runtime_vars: Mapping[str, str] | None = None,
        cancel: threading.Event | None = None,
        timeout: float | None = None,
        secrets: Secrets | None = None,
    ) -> Run:
        """Run DAG to a terminal state and return the final run row (docs/architecture.md#one-run).

        SECRETS (docs/secrets.md) holds the values of the workflow's declared secrets (those
        missing are read from the environment) and the secret variables (``--secret``).
        """
        validate_options(runtime_vars, timeout)
        resolved = run_secrets(dag, secrets)
        validate_options(resolved.variables, None)
        ctx = ctx_map if ctx_map is not None else ContextMap()
        variables = {**(runtime_vars or {}), **resolved.variables}
        opening = NewRun(dag, ctx, clean_env, variables, timeout)
        invocation = Invocation(
            progress,
            print_output,
            variables,
            cancel,
            timeout,
            masker=resolved.masker(),
            secret_env=resolved.env,
        )
        return run_invocation(self, opening, invocation)

    def schedule_nodes(
        self,
        rs: RunState,
        nodes: list[str],
        priority: Mapping[str, float] | None,
        cancel: threading.Event | None,
        timeout: float | None,
        session: RunnerSession,
    ) -> tuple[RunStatus, str | None, str | None]:
        """Run NODES with this executor's policy; return the outcome (status, error, cause)."""
        policy = make_policy(self.mode, rs.dag, nodes, priority=priority)
        # The opening records (run_started or run_resumed, the first checkpoint) go on record
        # before any task starts: a run killed in its first milliseconds still has them.
        rs.writer.flush()
        reap = prepare_log_dirs(rs.run_log_dir, log_dir_nodes(rs, nodes))
        try:
            external = ExternalCancel(rs.run_cancel, cancel, timeout)
            schedule(rs, policy, self.workers_for(session), external, session)
        finally:
            reap()
        return decide_outcome(rs, nodes)

    def resume(
        self,
        run_id: str,
        *,
        progress: ProgressCallback | None = None,
        print_output: bool = False,
        clean_env: bool | None = None,
        runtime_vars: Mapping[str, str] | None = None,
        cancel: threading.Event | None = None,
        timeout: float | None = None,
        from_task: str | None = None,
        only: list[str] | None = None,
        rerun: list[str] | None = None,
        secrets: Secrets | None = None,
    ) -> Run:
        """Resume a failed, cancelled or interrupted run in this executor's mode.

        See docs/resume.md.
        """
        from wf.executor.resume import resume_run

        return resume_run(
            self,
            run_id,
            progress=progress,
            print_output=print_output,
            clean_env=clean_env,
            runtime_vars=runtime_vars,
            cancel=cancel,
            timeout=timeout,
            from_task=from_task,
            only=only,
            rerun=rerun,
            secrets=secrets,
        )


class SequentialExecutor(_EngineExecutor):
    """Levels in order, nodes in ID order, one at a time; the first failure stops the run."""

    mode = ExecutionMode.SEQUENTIAL

    def __init__(self, store: Store, **kwargs: Any) -> None:
        super().__init__(store, 1, **kwargs)


class ParallelExecutor(_EngineExecutor):
    """Level by level, up to ``max_parallel`` nodes of a level at once."""

    mode = ExecutionMode.PARALLEL

    def __init__(self, store: Store, max_parallel: int = DEFAULT_WORKERS, **kwargs: Any) -> None:
        super().__init__(store, max_parallel, **kwargs)


class WorkStealingExecutor(_EngineExecutor):
    """Dependency-driven: a node starts once its dependencies are done and a worker is free.

    ``schedule="critical_path"`` (the default) starts, among ready nodes, the one with the
    longest remaining path first, weighted by durations from earlier runs; ``"fifo"`` starts
    them in release order (ties by ID).
    """

    mode = ExecutionMode.WORK_STEALING

    def __init__(
        self,
        store: Store,
        num_workers: int = DEFAULT_WORKERS,
        *,
        schedule: str = CRITICAL_PATH,
        **kwargs: Any,
    ) -> None:
        if schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule: {schedule} (choose from {', '.join(SCHEDULES)})")
        super().__init__(store, num_workers, **kwargs)
        self.schedule = schedule

    def scheduling(
        self, dag: DAG, nodes: list[str], durations: Mapping[str, float]
    ) -> tuple[Mapping[str, float] | None, dict[str, object] | None]:
        if self.schedule == FIFO:
            return None, {"policy": FIFO}
        known = sum(1 for n in nodes if n in durations)
        priority = critical_path_priorities(dag, nodes, durations)
        return priority, {"policy": CRITICAL_PATH, "nodes_with_history": known}


_BY_MODE: dict[str, type[_EngineExecutor]] = {
    "sequential": SequentialExecutor,
    "parallel": ParallelExecutor,
    "work_stealing": WorkStealingExecutor,
}


def executor_for_mode(
    mode: str | ExecutionMode, store: Store, max_parallel: int = DEFAULT_WORKERS, **kwargs: Any
) -> _EngineExecutor:
    """The executor of MODE (``sequential``, ``parallel`` or ``work_stealing``)."""
    key = str(mode).replace("-", "_")
    cls = _BY_MODE.get(key)
    if cls is None:
        raise ValueError(f"unknown execution mode: {mode}")
    schedule = kwargs.pop("schedule", None)
    if cls is SequentialExecutor:
        return SequentialExecutor(store, **kwargs)
    if cls is WorkStealingExecutor and schedule is not None:
        return WorkStealingExecutor(store, max_parallel, schedule=schedule, **kwargs)
    return cls(store, max_parallel, **kwargs)
