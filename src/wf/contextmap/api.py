"""``interpolate``: ``{{.name}}`` substitution for callers outside a run (docs/api.md)."""

from __future__ import annotations

from collections.abc import Mapping

from wf.contextmap.placeholders import substitute
from wf.contextmap.variables import ContextMap, VarValue, render_value

__all__ = ["interpolate"]


def interpolate(
    template: str,
    variables: ContextMap | Mapping[str, VarValue],
    *,
    task_id: str | None = None,
) -> str:
    """TEMPLATE with every ``{{.name}}`` replaced, in one pass, as a task's ``cmd`` would be.

    VARIABLES is a ContextMap (TASK_ID then also makes ``<task_id>.<key>`` reachable as
    ``<key>``) or a plain mapping of names to str, int, float or bool values. An undefined name
    raises UndefinedVariableError.
    """
    if isinstance(variables, ContextMap):
        return variables.interpolate(template, task_id=task_id)

    def resolve(name: str) -> str | None:
        if task_id is not None and f"{task_id}.{name}" in variables:
            return render_value(variables[f"{task_id}.{name}"])
        if name in variables:
            return render_value(variables[name])
        return None

    return substitute(template, resolve)
