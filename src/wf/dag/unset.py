"""Variables a task reads that nothing sets: warnings with a did-you-mean (docs/variables.md).

Known names are the literal ``register`` names, templated ``register`` names (as patterns),
matrix variables, names a command writes to ``$WF_OUTPUT`` (``name=`` next to it), the
reserved trap names, and the ``--var`` names the caller provides.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterable

from wf.contextmap.errors import ConditionError
from wf.contextmap.placeholders import PLACEHOLDER_RE, referenced_names
from wf.contextmap.reserved import RESERVED_NAMES
from wf.dag.model import DAG, TaskDefinition
from wf.dag.report import quote, show

__all__ = ["read_names", "unset_variable_warnings"]

# `name=` in a command that writes to $WF_OUTPUT (e.g. echo "rows=$n" >> "$WF_OUTPUT").
_OUTPUT_NAME = r"(?<![A-Za-z0-9_.\-\[\]=,\x00])([A-Za-z_][A-Za-z0-9_.\-]*)="
# The same with placeholders left in the name (e.g. {{.dataset}}_rows=).
_PLACEHOLDER = r"\{\{\.[A-Za-z0-9_.+\-\[\]=,]+\}\}"
_NAME_PART = rf"(?:[A-Za-z0-9_.\-]|{_PLACEHOLDER})"
_TEMPLATED_OUTPUT = rf"({_NAME_PART}*{_PLACEHOLDER}{_NAME_PART}*)="
# printf/echo escapes such as \n, so that "a=1\nb=2" names both a and b.
_ESCAPE = r"\\[ntr]"


@functools.cache
def _output_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """The three patterns above, compiled when a command first mentions WF_OUTPUT (not at
    import: every ``wf run`` imports this module)."""
    return re.compile(_OUTPUT_NAME), re.compile(_TEMPLATED_OUTPUT), re.compile(_ESCAPE)


def read_names(task: TaskDefinition) -> list[str]:
    """The variables TASK reads in cmd, env, working_dir, register and if, sorted."""
    names = set(referenced_names(task.cmd))
    for value in task.env.values():
        names |= referenced_names(value)
    names |= referenced_names(task.working_dir)
    names |= referenced_names(task.register)
    if task.condition:
        from wf.contextmap.condition import condition_names

        with contextlib.suppress(ConditionError):
            names |= condition_names(task.condition)
    return sorted(names)


def unset_variable_warnings(dag: DAG, provided: Iterable[str] = ()) -> list[str]:
    """One warning per variable a task reads that no task, matrix or PROVIDED name sets."""
    known, patterns = _known_names(dag)
    known |= set(provided)
    tasks: dict[str, TaskDefinition] = {}
    for node in dag.nodes.values():
        tasks.setdefault(node.task.id, node.task)
    tasks.update(dag.forensic_tasks)
    warnings = []
    for task in tasks.values():
        for name in read_names(task):
            if name in known or name in task.matrix or any(p.fullmatch(name) for p in patterns):
                continue
            message = (
                f"task {show(task.id)} reads {quote(name)}, which nothing sets "
                "(expected from --var or WF_OUTPUT?)"
            )
            import difflib  # only when a name is unset (imported lazily, as in report.py)

            close = difflib.get_close_matches(name, sorted(known | set(task.matrix)), n=1)
            if close:
                message += f"; did you mean {quote(close[0])}?"
            warnings.append(message)
    return warnings


def _known_names(dag: DAG) -> tuple[set[str], list[re.Pattern[str]]]:
    known = set(RESERVED_NAMES)
    patterns: list[re.Pattern[str]] = []
    definitions = [node.task for node in dag.nodes.values()] + list(dag.forensic_tasks.values())
    for node in dag.nodes.values():
        known.update(f"{node.id}.{key}" for key in node.matrix_vars)
        register = node.task.register
        if "{{" in register:
            bound = _bind(register, node.matrix_vars)
            if "{{" in bound:
                patterns.append(_pattern(bound))
            else:
                known.add(bound)
    for task in definitions:
        if task.register and "{{" not in task.register:
            known.add(task.register)
    for node in dag.nodes.values():
        _output_names(node.task.cmd, node.matrix_vars, known, patterns)
    for task in dag.forensic_tasks.values():
        _output_names(task.cmd, {}, known, patterns)
    return known, patterns


def _output_names(
    cmd: str, matrix_vars: dict[str, str], known: set[str], patterns: list[re.Pattern[str]]
) -> None:
    """Add the ``name=`` words of a command that writes to $WF_OUTPUT."""
    if "WF_OUTPUT" not in cmd:
        return
    output_name, templated_output, escape = _output_patterns()
    text = escape.sub(" ", _bind(cmd, matrix_vars))
    for name in output_name.findall(PLACEHOLDER_RE.sub("\x00", text)):
        known.add(name)
    for match in templated_output.finditer(text):
        patterns.append(_pattern(match.group(1)))


def _bind(template: str, matrix_vars: dict[str, str]) -> str:
    """TEMPLATE with the matrix keys' ``{{.key}}`` replaced by the expansion's values."""
    if not matrix_vars or "{{" not in template:
        return template
    return PLACEHOLDER_RE.sub(lambda m: matrix_vars.get(m.group(1), m.group(0)), template)


def _pattern(template: str) -> re.Pattern[str]:
    """A regex matching the names TEMPLATE can produce (each placeholder matches anything)."""
    parts = PLACEHOLDER_RE.split(template)
    # split() alternates literal text and placeholder names.
    return re.compile("".join(re.escape(p) if i % 2 == 0 else ".+" for i, p in enumerate(parts)))
