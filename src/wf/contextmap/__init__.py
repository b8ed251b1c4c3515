"""The run's variable registry: variables, ownership, interpolation and conditions.

See docs/variables.md.
"""

from wf.contextmap.api import interpolate
from wf.contextmap.condition import condition_names, parse_condition
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
