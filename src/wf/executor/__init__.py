"""Executors: run a DAG sequentially, level by level, or work-stealing (SPEC §4, §10.4)."""

from wf.executor.events import ProgressEvent, ProgressEventKind
from wf.executor.executors import (
    Executor,
    ParallelExecutor,
    SequentialExecutor,
    WorkStealingExecutor,
    executor_for_mode,
)

__all__ = [
    "Executor",
    "ParallelExecutor",
    "ProgressEvent",
    "ProgressEventKind",
    "SequentialExecutor",
    "WorkStealingExecutor",
    "executor_for_mode",
]
