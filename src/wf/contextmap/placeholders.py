"""Single-pass ``{{.NAME}}`` substitution; no other template syntax exists.

See docs/variables.md#interpolation-name.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from wf.contextmap.errors import UndefinedVariableError

__all__ = ["PLACEHOLDER_RE", "referenced_names", "substitute"]

# Only the exact form `{{.NAME}}`; `{{ .x }}`, `{{.}}`, `{{if …}}`, pipes and the rest never match.
PLACEHOLDER_RE = re.compile(r"\{\{\.([A-Za-z0-9_.+\-\[\]=,]+)\}\}")


def substitute(template: str, resolve: Callable[[str], str | None]) -> str:
    """Replace every ``{{.NAME}}`` in TEMPLATE with ``resolve(NAME)``, in a single pass.

    Inserted text is never scanned again, so a value containing ``{{.x}}`` stays literal.
    A name that RESOLVE maps to None raises UndefinedVariableError.
    """
    if "{{." not in template:
        return template

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        text = resolve(name)
        if text is None:
            raise UndefinedVariableError(name)
        return text

    return PLACEHOLDER_RE.sub(replace, template)


def referenced_names(text: str) -> set[str]:
    """Return the NAMEs of every ``{{.NAME}}`` form in TEXT (as written, aliases unresolved)."""
    if "{{." not in text:
        return set()
    return {match.group(1) for match in PLACEHOLDER_RE.finditer(text)}
