"""One-to-one matrix pairing in ``depends_on`` selectors (docs/workflow-files.md)."""

from __future__ import annotations

import re

from wf.dag.report import show

__all__ = ["bind_reference", "is_paired"]

# `{{.key}}` inside a selector value; the key is one of the dependent's own matrix keys.
_KEY_PLACEHOLDER_RE = re.compile(r"\{\{\.([A-Za-z0-9_-]+)\}\}")


def is_paired(reference: str) -> bool:
    """True when REFERENCE uses the dependent's matrix values (``{{.key}}``)."""
    return "{{" in reference


def bind_reference(
    reference: str, task_id: str, matrix_vars: dict[str, str]
) -> tuple[str | None, str]:
    """REFERENCE with each ``{{.key}}`` replaced by the expansion's value.

    Returns ``(bound, "")``, or ``(None, problem)`` when the reference cannot be bound: a
    placeholder outside the ``[...]`` selector, or one that names no matrix key of the task.
    """
    bracket = reference.find("[")
    if bracket < 0 or "{{" in reference[:bracket]:
        return None, (f"{show(reference)} ({{{{.key}}}} may only appear in a [key=value] selector)")
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        value = matrix_vars.get(key)
        if value is None:
            missing.append(key)
            return match.group(0)
        return value

    bound = _KEY_PLACEHOLDER_RE.sub(replace, reference)
    if missing:
        keys = ", ".join(sorted(matrix_vars)) or "none"
        return None, (
            f"{show(reference)} ({{{{.{missing[0]}}}}} is not a matrix key of task "
            f"{show(task_id)}; its keys: {keys})"
        )
    if "{{" in bound:
        return None, f"{show(reference)} (write {{{{.key}}}} with a matrix key of the task)"
    return bound, ""
