"""wf: a local-first DAG workflow runner.

The public Python API is importable from here (see docs/api.md)::

    from wf import Store, SequentialExecutor, load_dag

Names other than the errors and ``__version__`` are imported on first use, so that importing
``wf`` (and running ``wf --help``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from wf._version import __version__
from wf.errors import ResumeError, SecurityError, UsageError, WfError

if TYPE_CHECKING:
    from wf.config import Config, ConfigError, load_config
    from wf.contextmap import (
        ConditionError,
        ContextMap,
        ContextMapError,
        OwnershipError,
        ReadOnlyError,
        UndefinedVariableError,
        Variable,
        interpolate,
    )
    from wf.dag import (
        DAG,
        Node,
        TaskDefinition,
        WorkflowDefinition,
        WorkflowError,
        WorkflowNotFoundError,
        build_dag,
        load_dag,
        parse_workflow,
        parse_workflow_text,
    )
    from wf.executor import (
        Executor,
        ParallelExecutor,
        ProgressEvent,
        ProgressEventKind,
        SequentialExecutor,
        WorkStealingExecutor,
        executor_for_mode,
    )
    from wf.storage import (
        AmbiguousRunIdError,
        ExecutionMode,
        Run,
        RunNotFoundError,
        RunStatus,
        Store,
        StoreError,
        TaskExecution,
        TaskStatus,
    )

# public name -> the module that defines it
_LAZY: dict[str, str] = {
    **dict.fromkeys(
        [
            "DAG",
            "Node",
            "TaskDefinition",
            "WorkflowDefinition",
            "WorkflowError",
            "WorkflowNotFoundError",
            "build_dag",
            "load_dag",
            "parse_workflow",
            "parse_workflow_text",
        ],
        "wf.dag",
    ),
    **dict.fromkeys(
        [
            "Executor",
            "ParallelExecutor",
            "ProgressEvent",
            "ProgressEventKind",
            "SequentialExecutor",
            "WorkStealingExecutor",
            "executor_for_mode",
        ],
        "wf.executor",
    ),
    **dict.fromkeys(
        [
            "AmbiguousRunIdError",
            "ExecutionMode",
            "Run",
            "RunNotFoundError",
            "RunStatus",
            "Store",
            "StoreError",
            "TaskExecution",
            "TaskStatus",
        ],
        "wf.storage",
    ),
    **dict.fromkeys(
        [
            "ConditionError",
            "ContextMap",
            "ContextMapError",
            "OwnershipError",
            "ReadOnlyError",
            "UndefinedVariableError",
            "Variable",
            "interpolate",
        ],
        "wf.contextmap",
    ),
    **dict.fromkeys(["Config", "ConfigError", "load_config"], "wf.config"),
}

__all__ = [
    "DAG",
    "AmbiguousRunIdError",
    "ConditionError",
    "Config",
    "ConfigError",
    "ContextMap",
    "ContextMapError",
    "ExecutionMode",
    "Executor",
    "Node",
    "OwnershipError",
    "ParallelExecutor",
    "ProgressEvent",
    "ProgressEventKind",
    "ReadOnlyError",
    "ResumeError",
    "Run",
    "RunNotFoundError",
    "RunStatus",
    "SecurityError",
    "SequentialExecutor",
    "Store",
    "StoreError",
    "TaskDefinition",
    "TaskExecution",
    "TaskStatus",
    "UndefinedVariableError",
    "UsageError",
    "Variable",
    "WfError",
    "WorkStealingExecutor",
    "WorkflowDefinition",
    "WorkflowError",
    "WorkflowNotFoundError",
    "__version__",
    "build_dag",
    "executor_for_mode",
    "interpolate",
    "load_config",
    "load_dag",
    "parse_workflow",
    "parse_workflow_text",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wf' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
