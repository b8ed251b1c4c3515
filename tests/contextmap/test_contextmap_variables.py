"""Variable values, types, rendering, history and the read API of ContextMap.

See docs/variables.md, docs/api.md.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from enum import IntEnum, StrEnum

import pytest

from wf.contextmap import ContextMap, InvalidVariableError, Mutation, Variable, render_value

T0 = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


class StepClock:
    """A deterministic clock: T0, T0+1s, T0+2s, …"""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> datetime:
        now = T0 + timedelta(seconds=self.calls)
        self.calls += 1
        return now


@pytest.fixture
def ctx() -> ContextMap:
    return ContextMap(clock=StepClock())


@pytest.mark.parametrize(
    ("value", "expected"),
    [("x", "string"), ("", "string"), (3, "int"), (-1, "int"), (0.5, "float"), (True, "bool")],
)
def test_type_is_inferred_from_the_python_value(value: object, expected: str) -> None:
    assert Variable("v", value, "t", T0).type == expected  # type: ignore[arg-type]


def test_bool_is_checked_before_int() -> None:
    assert Variable("v", False, "t", T0).type == "bool"
    assert Variable("v", 0, "t", T0).type == "int"


@pytest.mark.parametrize("value", [None, [1], {"a": 1}, b"x", 1j, object()])
def test_unsupported_value_type_is_rejected_with_type_and_name(value: object) -> None:
    with pytest.raises(InvalidVariableError) as info:
        Variable("myvar", value, "t", T0)  # type: ignore[arg-type]
    assert str(info.value) == f"unsupported type {type(value).__name__} for variable myvar"
    assert isinstance(info.value, ValueError)


def test_set_rejects_unsupported_type_and_leaves_the_map_unchanged(ctx: ContextMap) -> None:
    with pytest.raises(InvalidVariableError, match="unsupported type list for variable x"):
        ctx.set("t", "x", [1, 2])  # type: ignore[arg-type]
    assert ctx.lookup("x") is None
    assert ctx.history() == []


def test_enum_subclasses_are_stored_as_plain_builtins() -> None:
    class Color(StrEnum):
        RED = "red"

    class Level(IntEnum):
        HIGH = 3

    assert type(Variable("c", Color.RED, "t", T0).value) is str
    level = Variable("l", Level.HIGH, "t", T0)
    assert (type(level.value), level.type, level.text) == (int, "int", "3")


def test_variable_is_frozen() -> None:
    variable = Variable("v", 1, "t", T0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        variable.value = 2  # type: ignore[misc]


def test_replacing_the_value_recomputes_the_type() -> None:
    variable = dataclasses.replace(Variable("v", 1, "t", T0), value="x")
    assert variable.type == "string"


def test_naive_set_at_is_rejected() -> None:
    with pytest.raises(InvalidVariableError, match="timezone-aware"):
        Variable("v", 1, "t", datetime(2024, 1, 1))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("a b", "a b"),
        ("", ""),
        (" padded ", " padded "),
        (42, "42"),
        (-7, "-7"),
        (0.5, "0.5"),
        (1e-05, "1e-05"),
        (0.1, "0.1"),
        (1.0, "1.0"),
        (1e16, "1e+16"),
        (True, "true"),
        (False, "false"),
    ],
)
def test_render_value_follows_the_spec_forms(value: str | float, text: str) -> None:
    assert render_value(value) == text


def test_render_value_renders_huge_ints_in_full() -> None:
    huge = 7 * 10**6000
    assert render_value(huge) == "7" + "0" * 6000


def test_render_value_rejects_unsupported_types() -> None:
    with pytest.raises(InvalidVariableError, match="unsupported type list"):
        render_value([1])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    ["x", "", 0, -12, pytest.param(10**5000, id="huge-int"), 0.1, 1e-05, 2.5e300, True, False],
)
def test_from_text_round_trips_rendered_values(value: str | float) -> None:
    original = Variable("v", value, "t", T0, read_only=True)
    rebuilt = Variable.from_text("v", original.text, original.type, "t", T0, read_only=True)
    assert rebuilt == original


@pytest.mark.parametrize(
    ("text", "type_name", "message"),
    [
        ("yes", "bool", "invalid bool value"),
        ("1.5", "int", "invalid int value"),
        ("abc", "float", "invalid float value"),
        ("x", "list", "unsupported type list for variable v"),
    ],
)
def test_from_text_rejects_text_that_does_not_fit_the_type(
    text: str, type_name: str, message: str
) -> None:
    with pytest.raises(InvalidVariableError, match=message):
        Variable.from_text("v", text, type_name, "t", T0)


def test_set_records_owner_time_and_type(ctx: ContextMap) -> None:
    variable = ctx.set("task-a", "count", 3)
    assert variable == Variable("count", 3, "task-a", T0, read_only=False)
    assert ctx.lookup("count") == variable


def test_get_returns_the_value_and_raises_key_error_when_missing(ctx: ContextMap) -> None:
    ctx.set("t", "x", 1.5)
    assert ctx.get("x") == 1.5
    with pytest.raises(KeyError):
        ctx.get("missing")


def test_lookup_returns_none_when_missing(ctx: ContextMap) -> None:
    assert ctx.lookup("missing") is None


def test_lookup_with_task_id_prefers_the_short_alias(ctx: ContextMap) -> None:
    ctx.set("t", "status", "global")
    ctx.set("build", "build.status", "mine")
    assert ctx.lookup("status") is not None
    assert ctx.lookup("status", task_id="build").value == "mine"  # type: ignore[union-attr]
    assert ctx.lookup("status", task_id="other").value == "global"  # type: ignore[union-attr]


def test_every_successful_set_appends_a_mutation(ctx: ContextMap) -> None:
    ctx.set("a", "x", "1")
    ctx.set("a", "x", "2")
    ctx.set_matrix("m[k=v]", {"k": "v"})
    assert ctx.history() == [
        Mutation(T0, "a", "x", None, "1"),
        Mutation(T0 + timedelta(seconds=1), "a", "x", "1", "2"),
        Mutation(T0 + timedelta(seconds=2), "m[k=v]", "m[k=v].k", None, "v"),
    ]


def test_failed_sets_append_no_mutation(ctx: ContextMap) -> None:
    ctx.set("a", "x", "1")
    with pytest.raises(InvalidVariableError):
        ctx.set("a", "bad name", "1")
    with pytest.raises(Exception, match="already set"):
        ctx.set("b", "x", "2")
    assert len(ctx.history()) == 1


def test_snapshot_is_sorted_by_code_point(ctx: ContextMap) -> None:
    for name in ["b", "a", "B", "_z", "a.b", "a[k=v]"]:
        ctx.set("t", name, name)
    assert [v.name for v in ctx.snapshot()] == ["B", "_z", "a", "a.b", "a[k=v]", "b"]


def test_variables_and_history_are_copies(ctx: ContextMap) -> None:
    ctx.set("t", "x", 1)
    ctx.variables().clear()
    ctx.history().clear()
    assert ctx.get("x") == 1
    assert len(ctx.history()) == 1


def test_len_and_contains_reflect_the_map(ctx: ContextMap) -> None:
    assert len(ctx) == 0
    assert "x" not in ctx
    ctx.set("t", "x", 1)
    assert len(ctx) == 1
    assert "x" in ctx
    assert "1 variable" in repr(ctx)


def test_restore_variable_bypasses_ownership_and_read_only(ctx: ContextMap) -> None:
    ctx.set_matrix("m[k=v]", {"k": "v"})
    ctx.set("owner", "x", "old")
    restored_ro = Variable("m[k=v].k", "other", "someone", T0, read_only=True)
    restored = Variable("x", 9, "intruder", T0)
    ctx.restore_variable(restored_ro)
    ctx.restore_variable(restored)
    assert ctx.lookup("m[k=v].k") == restored_ro
    assert ctx.lookup("x") == restored
    assert len(ctx.history()) == 2  # restores are not mutations


def test_default_clock_is_aware_utc() -> None:
    variable = ContextMap().set("t", "x", 1)
    assert variable.set_at.tzinfo is UTC
    assert abs(datetime.now(UTC) - variable.set_at) < timedelta(minutes=1)
