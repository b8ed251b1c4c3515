"""Executors: run a DAG sequentially, level by level, or work-stealing, on this machine or a
Dask cluster, through one ``AttemptRunner`` seam (docs/executors.md, docs/architecture.md)."""

from typing import Any

from wf.executor.cancel import CancelToken
from wf.executor.events import ProgressEvent, ProgressEventKind
from wf.executor.executors import (
    Executor,
    ParallelExecutor,
    SequentialExecutor,
    WorkStealingExecutor,
    executor_for_mode,
)
from wf.executor.local import LocalRunner
from wf.executor.runner import (
    AttemptHandle,
    AttemptResult,
    AttemptRunner,
    AttemptSpec,
    Outcome,
    RunnerSession,
)

__all__ = [
    "AttemptHandle",
    "AttemptResult",
    "AttemptRunner",
    "AttemptSpec",
    "CancelToken",
    "Executor",
    "LocalRunner",
    "Outcome",
    "ParallelExecutor",
    "ProgressEvent",
    "ProgressEventKind",
    "RunnerSession",
    "SequentialExecutor",
    "WorkStealingExecutor",
    "executor_for_mode",
]


def __getattr__(name: str) -> Any:
    """``DaskExecutor`` and ``DaskRunner`` are imported on first use (they need ``wf[dask]``)."""
    if name in ("DaskExecutor", "DaskRunner"):
        from wf.executor import daskrunner

        return getattr(daskrunner, name)
    raise AttributeError(f"module 'wf.executor' has no attribute {name!r}")
