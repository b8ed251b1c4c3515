"""The run's variable registry: variables, ownership, interpolation and conditions.

See docs/variables.md.
"""

from typing import TYPE_CHECKING, Any

from wf.contextmap.api import interpolate
from wf.contextmap.errors import (
    ConditionError,
    ContextMapError,
    InvalidVariableError,
    OwnershipError,
    ReadOnlyError,
    UndefinedVariableError,
)
from wf.contextmap.placeholders import referenced_names
from wf.contextmap.reserved import (
    FORENSIC_OWNER,
    GLOBAL_FORENSIC_OWNER,
    RESERVED_NAMES,
    RESERVED_OWNERS,
    RUNTIME_OWNER,
)
from wf.contextmap.variables import ContextMap, Mutation, Variable, render_value

if TYPE_CHECKING:
    from wf.contextmap.condition import condition_names, parse_condition

__all__ = [
    "FORENSIC_OWNER",
    "GLOBAL_FORENSIC_OWNER",
    "RESERVED_NAMES",
    "RESERVED_OWNERS",
    "RUNTIME_OWNER",
    "ConditionError",
    "ContextMap",
    "ContextMapError",
    "InvalidVariableError",
    "Mutation",
    "OwnershipError",
    "ReadOnlyError",
    "UndefinedVariableError",
    "Variable",
    "condition_names",
    "interpolate",
    "parse_condition",
    "referenced_names",
    "render_value",
]


def __getattr__(name: str) -> Any:
    """The ``if`` language (``wf.contextmap.condition``) is imported on first use: a workflow
    without conditions never loads it (start-up time)."""
    if name in ("condition_names", "parse_condition"):
        from wf.contextmap import condition

        return getattr(condition, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
