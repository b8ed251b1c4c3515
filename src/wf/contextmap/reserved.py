"""Reserved owners and variable names that only wf itself may use.

See docs/variables.md#names-and-ownership.
"""

from __future__ import annotations

__all__ = [
    "FORENSIC_OWNER",
    "GLOBAL_FORENSIC_OWNER",
    "RESERVED_NAMES",
    "RESERVED_OWNERS",
    "RUNTIME_OWNER",
]

RUNTIME_OWNER = "__runtime__"
"""Owner of ``--var`` / ``runtime_vars`` values."""

FORENSIC_OWNER = "__forensic__"
"""Owner of the variables set for a task-level failure trap."""

GLOBAL_FORENSIC_OWNER = "__global_forensic__"
"""Owner of the variables set for the global failure trap."""

RESERVED_OWNERS = frozenset({RUNTIME_OWNER, FORENSIC_OWNER, GLOBAL_FORENSIC_OWNER})

RESERVED_NAMES = frozenset({"failed_task", "failed_dag", "error_message"})
"""Names only wf sets: rejected as register names, WF_OUTPUT keys and --var names.

See docs/workflow-files.md#forensic-tasks-and-traps.
"""
