"""``register`` names that two nodes of one run would both set (docs/workflow-files.md).

A variable has one owner, so the second node to register the same name fails at run time
with "already set by task". These cases are caught when the workflow is validated.
"""

from __future__ import annotations

import math

from wf.contextmap.errors import ConditionError
from wf.contextmap.placeholders import referenced_names
from wf.dag.model import WorkflowDefinition
from wf.dag.report import quote

__all__ = ["register_conflicts"]


def register_conflicts(definition: WorkflowDefinition) -> list[str]:
    """Errors for register names that two nodes can both set in one run."""
    errors: list[str] = []
    unconditional: dict[str, str] = {}  # literal name -> first task without an `if`
    for task in definition.tasks.values():
        if task.is_forensic or not task.register:
            continue
        expansions = math.prod(len(values) for values in task.matrix.values())
        if task.matrix and expansions > 1 and not _varies_by_expansion(task.register, task.matrix):
            if not _condition_uses(task.condition, task.matrix):
                errors.append(
                    f"task {quote(task.id)}: register {quote(task.register)} would be set by "
                    f"each of its {expansions} matrix expansions, and a variable has one owner "
                    f"(put a matrix key in the name, e.g. "
                    f'register = "{task.register}_{{{{.{sorted(task.matrix)[0]}}}}}")'
                )
            continue
        if "{{" in task.register or task.condition:
            continue
        first = unconditional.get(task.register)
        if first is None:
            unconditional[task.register] = task.id
        else:
            errors.append(
                f"task {quote(task.id)}: register {quote(task.register)} is also set by task "
                f"{quote(first)}, and a variable has one owner (use another name, or an "
                "if so that only one of them runs)"
            )
    return errors


def _varies_by_expansion(register: str, matrix: dict[str, list[str]]) -> bool:
    """True when the register template uses one of the task's matrix keys."""
    return any(name in matrix for name in referenced_names(register))


def _condition_uses(condition: str, matrix: dict[str, list[str]]) -> bool:
    """True when the `if` reads a matrix key, so expansions may decide differently."""
    if not condition:
        return False
    from wf.contextmap.condition import condition_names

    try:
        return any(name in matrix for name in condition_names(condition))
    except ConditionError:
        return False
