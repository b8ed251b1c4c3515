"""Errors of the context map: ownership, read-only, undefined names, bad conditions.

See docs/api.md#variables-and-interpolation.
"""

from __future__ import annotations

from wf.errors import WfError

__all__ = [
    "ConditionError",
    "ContextMapError",
    "InvalidVariableError",
    "OwnershipError",
    "ReadOnlyError",
    "UndefinedVariableError",
]


class ContextMapError(WfError):
    """Base class of every context-map error."""


class OwnershipError(ContextMapError):
    """A task tried to overwrite a variable that another owner set first."""


class ReadOnlyError(ContextMapError):
    """Someone, the owner included, tried to overwrite a read-only variable."""


class InvalidVariableError(ContextMapError, ValueError):
    """A variable name broke the name rule, or its value has an unsupported type.

    See docs/variables.md#names-and-ownership.
    """


class UndefinedVariableError(ContextMapError):
    """A template or a condition named a variable that is not set.

    ``context`` names where the lookup happened (``"condition"``) and is appended to the
    message as ``in <context>``.
    """

    def __init__(self, name: str, context: str | None = None) -> None:
        self.name = name
        self.context = context
        message = f'undefined variable "{name}"'
        if context:
            message += f" in {context}"
        super().__init__(message)

    def __reduce__(self) -> tuple[type[UndefinedVariableError], tuple[str, str | None]]:
        return (type(self), (self.name, self.context))


class ConditionError(ContextMapError):
    """An ``if`` expression has a syntax error; ``position`` is the 1-based character offset."""

    def __init__(self, expr: str, reason: str, position: int) -> None:
        self.expr = expr
        self.reason = reason
        self.position = position
        super().__init__(f'invalid condition "{expr}": {reason} at position {position}')

    def __reduce__(self) -> tuple[type[ConditionError], tuple[str, str, int]]:
        return (type(self), (self.expr, self.reason, self.position))
