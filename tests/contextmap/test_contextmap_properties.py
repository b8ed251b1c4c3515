"""Property tests: hostile input raises only context-map errors; parse, evaluate and
interpolation agree with simple reference models."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from wf.contextmap import (
    ConditionError,
    ContextMap,
    ContextMapError,
    InvalidVariableError,
    UndefinedVariableError,
    Variable,
    parse_condition,
    render_value,
)

FAST = settings(max_examples=250, deadline=None)
MODEL = settings(max_examples=150, deadline=None)

NAMES = ["a", "b", "c.d", "e[k=v].f", "task-x.out"]
TOKENS = [
    *NAMES,
    "undefined_name",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "=",
    "!",
    "&&",
    "||",
    "&",
    "|",
    "(",
    ")",
    "{{",
    "}}",
    "true",
    "false",
    "1",
    "-2.5",
    ".5e3",
    "1.",
    "'s'",
    '"q\\"q"',
    "'unterminated",
    "\\",
    "[",
    "]",
    " ",
    "\t",
    "é",
    "$",
]


def populated() -> ContextMap:
    ctx = ContextMap()
    values: list[str | float] = [1, "x", 2.5, True, "{{.a}}"]
    for name, value in zip(NAMES, values, strict=True):
        ctx.set("t", name, value)
    return ctx


CTX = populated()

condition_like = st.lists(st.sampled_from(TOKENS), max_size=12).map(" ".join)
condition_glued = st.lists(st.sampled_from(TOKENS), max_size=12).map("".join)
any_text = st.text(max_size=60)


def outcome_of(function: Callable[[str], object], argument: str) -> object:
    """Return FUNCTION's result, or the ContextMapError it raised; anything else propagates."""
    try:
        return function(argument)
    except ContextMapError as error:
        return error


@FAST
@given(st.one_of(any_text, condition_like, condition_glued))
def test_any_text_as_a_condition_raises_only_context_map_errors(expr: str) -> None:
    outcome = outcome_of(CTX.eval_condition, expr)
    if isinstance(outcome, ConditionError):
        assert 1 <= outcome.position <= len(expr) + 1
        assert str(outcome).startswith(f'invalid condition "{expr}": ')
    elif isinstance(outcome, UndefinedVariableError):
        assert outcome.name in parse_condition(expr).names
    else:
        assert isinstance(outcome, bool)


@FAST
@given(st.one_of(any_text, condition_like), st.sampled_from([None, "task-x", "e[k=v]"]))
def test_any_text_as_a_template_raises_only_context_map_errors(
    template: str, task_id: str | None
) -> None:
    outcome = outcome_of(lambda text: CTX.interpolate(text, task_id=task_id), template)
    assert isinstance(outcome, str | UndefinedVariableError)


@FAST
@given(st.text(max_size=20))
def test_any_name_is_either_accepted_or_rejected_as_invalid(name: str) -> None:
    ctx = ContextMap()
    try:
        ctx.set("t", name, "v")
    except InvalidVariableError:
        assert not re.fullmatch(r"[A-Za-z0-9_.\-\[\]=,]{1,256}", name)
    else:
        assert ctx.get(name) == "v"


# --- interpolation model ------------------------------------------------------------------------

literal_chunk = st.text(max_size=10).filter(lambda text: "{{" not in text)
template_value = st.one_of(
    st.text(max_size=10),
    st.sampled_from(["{{.v0}}", "{{.v1}}", "{{.missing}}", "\\1", "\\g<0>"]),
)


@MODEL
@given(
    st.lists(template_value, min_size=1, max_size=4),
    st.lists(st.tuples(literal_chunk, st.integers(min_value=0, max_value=3)), max_size=6),
    literal_chunk,
)
def test_interpolation_is_single_pass_and_verbatim(
    values: list[str], parts: list[tuple[str, int]], tail: str
) -> None:
    ctx = ContextMap()
    for index, value in enumerate(values):
        ctx.set("t", f"v{index}", value)
    template = ""
    expected = ""
    for chunk, index in parts:
        slot = index % len(values)
        template += f"{chunk}{{{{.v{slot}}}}}"
        expected += chunk + values[slot]
    template += tail
    expected += tail
    assert ctx.interpolate(template) == expected


@FAST
@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.text()))
def test_rendered_values_rebuild_the_same_variable(value: str | float) -> None:
    original = Variable("v", value, "t", CTX.lookup("a").set_at)  # type: ignore[union-attr]
    rebuilt = Variable.from_text("v", original.text, original.type, "t", original.set_at)
    assert rebuilt == original
    if isinstance(value, float) and math.isfinite(value):
        assert float(render_value(value)) == value


# --- condition model ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cmp:
    op: str
    left: str | int  # a variable name (str starting with "v") or an int / word literal
    right: str | int


@dataclass(frozen=True)
class Neg:
    inner: object


@dataclass(frozen=True)
class Both:
    items: tuple[object, ...]


@dataclass(frozen=True)
class Either:
    items: tuple[object, ...]


VAR_NAMES = ["v0", "v1", "v2"]
words = st.text(alphabet="abcXYZ_", min_size=1, max_size=4)
scalars = st.one_of(st.integers(min_value=-(10**30), max_value=10**30), words)
ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])


@st.composite
def comparisons(draw: st.DrawFn) -> Cmp:
    left: str | int = draw(st.sampled_from(VAR_NAMES))
    right: str | int = draw(st.one_of(st.sampled_from(VAR_NAMES), scalars))
    if draw(st.booleans()):
        left, right = right, left
    return Cmp(draw(ops), left, right)


expressions = st.recursive(
    comparisons(),
    lambda inner: st.one_of(
        inner.map(Neg),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: Both(tuple(xs))),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: Either(tuple(xs))),
    ),
    max_leaves=8,
)


def operand_source(operand: str | int) -> str:
    if isinstance(operand, int):
        return str(operand)
    if operand in VAR_NAMES:
        return operand
    return f"'{operand}'"


def source(node: object) -> str:
    if isinstance(node, Cmp):
        return f"{operand_source(node.left)} {node.op} {operand_source(node.right)}"
    if isinstance(node, Neg):
        return f"!({source(node.inner)})"
    if isinstance(node, Both):
        return " && ".join(f"({source(item)})" for item in node.items)
    assert isinstance(node, Either)
    return " || ".join(f"({source(item)})" for item in node.items)


def reference(node: object, env: dict[str, str | int]) -> bool:
    if isinstance(node, Neg):
        return not reference(node.inner, env)
    if isinstance(node, Both):
        return all(reference(item, env) for item in node.items)
    if isinstance(node, Either):
        return any(reference(item, env) for item in node.items)
    assert isinstance(node, Cmp)
    a = env[node.left] if isinstance(node.left, str) and node.left in VAR_NAMES else node.left
    b = env[node.right] if isinstance(node.right, str) and node.right in VAR_NAMES else node.right
    x: str | int = a
    y: str | int = b
    if not (isinstance(a, int) and isinstance(b, int)):
        x, y = str(a), str(b)  # words never look like numbers, so the spec compares text
    return {
        "==": x == y,
        "!=": x != y,
        "<": x < y,  # type: ignore[operator]
        "<=": x <= y,  # type: ignore[operator]
        ">": x > y,  # type: ignore[operator]
        ">=": x >= y,  # type: ignore[operator]
    }[node.op]


@MODEL
@given(expressions, st.lists(scalars, min_size=3, max_size=3))
def test_evaluation_matches_a_reference_model(node: object, values: list[str | int]) -> None:
    ctx = ContextMap()
    env = dict(zip(VAR_NAMES, values, strict=True))
    for name, value in env.items():
        ctx.set("t", name, value)
    expr = source(node)
    assert ctx.eval_condition(expr) is reference(node, env)
    assert ctx.eval_condition(f"!({expr})") is not reference(node, env)


@MODEL
@given(expressions)
def test_parsing_is_deterministic_and_whitespace_insensitive(node: object) -> None:
    expr = source(node)
    compact = re.sub(r"\s+", "", expr)  # words hold no whitespace, so none is significant
    assert parse_condition(expr).root == parse_condition(compact).root
    assert set(parse_condition(expr).names) <= set(VAR_NAMES)
