"""Matrix tables: validation, expansion into node IDs, and bracket selectors.

See docs/workflow-files.md#matrix-expansion.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator

from wf.dag.model import TaskDefinition
from wf.dag.report import Report, quote, type_name

__all__ = [
    "EXPANSION_WARNING_LIMIT",
    "MAX_NODES",
    "expand",
    "expansion_id",
    "matches",
    "parse_matrix",
    "split_reference",
]

EXPANSION_WARNING_LIMIT = 100
#: The most nodes a workflow may expand to. Checked on the sizes of the matrices, before
#: anything is expanded: a small file must not make wf build millions of nodes.
MAX_NODES = 100_000
MAX_VARIABLE_NAME = 256
_KEY_RE = re.compile(r"[A-Za-z0-9_-]+")
_VALUE_RE = re.compile(r"[A-Za-z0-9_.-]+")


def value_text(value: object) -> str | None:
    """A matrix element as text (floats shortest round-trip, bools true/false), or None."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return value
    return None


def parse_matrix(task_id: str, value: object, report: Report) -> dict[str, list[str]] | None:
    """Validate a task's ``matrix`` value; return it as text lists, or None when it is invalid."""
    where = f"task {quote(task_id)}"
    if not isinstance(value, dict):
        report.error(f'{where}: key "matrix" must be a table of arrays')
        return None
    matrix: dict[str, list[str]] = {}
    valid = True
    for key, values in value.items():
        if not _KEY_RE.fullmatch(key):
            report.error(
                f"{where}: invalid matrix key {quote(key)} (allowed: letters, digits, _, -)"
            )
            valid = False
            continue
        texts = _parse_values(where, key, values, report)
        if texts is None:
            valid = False
        else:
            matrix[key] = texts
    if not valid:
        return None
    if matrix and _longest_variable_name(task_id, matrix) > MAX_VARIABLE_NAME:
        report.error(
            f"{where}: matrix variable names would exceed {MAX_VARIABLE_NAME} characters "
            "(shorten the task ID, matrix keys or values)"
        )
        return None
    count = expansion_count(matrix)
    if count > MAX_NODES:
        report.error(
            f"{where}: matrix has {count:,} expansions (at most {MAX_NODES:,} nodes are allowed)"
        )
        return None
    if count > EXPANSION_WARNING_LIMIT:
        report.warn(f"{where}: matrix has {count} expansions (more than {EXPANSION_WARNING_LIMIT})")
    return matrix


def expansion_count(matrix: dict[str, list[str]]) -> int:
    """How many nodes MATRIX expands to (1 without a matrix), without expanding it."""
    return math.prod(len(texts) for texts in matrix.values())


def _parse_values(where: str, key: str, values: object, report: Report) -> list[str] | None:
    if not isinstance(values, list) or not values:
        report.error(f"{where}: matrix key {quote(key)} must be a non-empty array")
        return None
    texts: list[str] = []
    valid = True
    for element in values:
        text = value_text(element)
        if text is None:
            report.error(
                f"{where}: matrix key {quote(key)} has a value of type {type_name(element)} "
                "(allowed: strings, integers, floats, booleans)"
            )
            valid = False
        elif not _VALUE_RE.fullmatch(text):
            report.error(
                f"{where}: matrix key {quote(key)} has invalid value {quote(text)} "
                "(allowed: letters, digits, _, ., -)"
            )
            valid = False
        elif text in texts:
            report.error(f"{where}: matrix key {quote(key)} has duplicate value {quote(text)}")
            valid = False
        else:
            texts.append(text)
    return texts if valid else None


def _longest_variable_name(task_id: str, matrix: dict[str, list[str]]) -> int:
    """Length of the longest ``<node_id>.<key>`` name the matrix produces."""
    pairs = sum(len(key) + 1 + max(len(v) for v in values) for key, values in matrix.items())
    node_id = len(task_id) + 2 + pairs + len(matrix) - 1
    return node_id + 1 + max(len(key) for key in matrix)


def expansion_id(task_id: str, matrix_vars: dict[str, str]) -> str:
    """``<id>[k1=v1,k2=v2]`` with the keys in sorted order."""
    inner = ",".join(f"{key}={matrix_vars[key]}" for key in sorted(matrix_vars))
    return f"{task_id}[{inner}]"


def expand(task: TaskDefinition) -> Iterator[tuple[str, dict[str, str]]]:
    """Yield ``(node_id, matrix_vars)`` per expansion: keys sorted, values in the given order.

    A task without a matrix yields its own ID with empty vars.
    """
    if not task.matrix:
        yield task.id, {}
        return
    keys = sorted(task.matrix)
    for combination in itertools.product(*(task.matrix[key] for key in keys)):
        matrix_vars = dict(zip(keys, combination, strict=True))
        yield expansion_id(task.id, matrix_vars), matrix_vars


def split_reference(reference: str) -> tuple[str, list[tuple[str, str]] | None] | None:
    """Split a ``depends_on`` entry into the task ID and its ``[k=v,…]`` pairs.

    Returns ``(task_id, None)`` without brackets, and None for a malformed selector.
    """
    bracket = reference.find("[")
    if bracket < 0:
        return reference, None
    if not reference.endswith("]") or bracket == 0:
        return None
    pairs: list[tuple[str, str]] = []
    for item in reference[bracket + 1 : -1].split(","):
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            return None
        pairs.append((key, value))
    return reference[:bracket], pairs


def matches(matrix_vars: dict[str, str], pairs: list[tuple[str, str]]) -> bool:
    """True when the expansion's values include every selector pair."""
    return all(matrix_vars.get(key) == value for key, value in pairs)
