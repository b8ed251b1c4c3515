"""Ownership, read-only matrix variables, names and concurrency.

See docs/variables.md#names-and-ownership.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from wf.contextmap import (
    FORENSIC_OWNER,
    GLOBAL_FORENSIC_OWNER,
    RUNTIME_OWNER,
    ContextMap,
    InvalidVariableError,
    OwnershipError,
    ReadOnlyError,
)


@pytest.fixture
def ctx() -> ContextMap:
    return ContextMap()


# --- ownership (docs/variables.md#names-and-ownership) ---------------------------------------


def test_first_set_records_the_owner(ctx: ContextMap) -> None:
    ctx.set("extract", "rows", "42")
    assert ctx.lookup("rows").owner == "extract"  # type: ignore[union-attr]


def test_same_owner_may_overwrite(ctx: ContextMap) -> None:
    ctx.set("extract", "rows", "42")
    ctx.set("extract", "rows", "43")
    assert ctx.get("rows") == "43"


def test_overwrite_may_change_the_type(ctx: ContextMap) -> None:
    ctx.set("extract", "rows", "42")
    ctx.set("extract", "rows", 42)
    assert ctx.lookup("rows").type == "int"  # type: ignore[union-attr]


def test_cross_task_overwrite_is_rejected_naming_the_owner(ctx: ContextMap) -> None:
    ctx.set("task-a", "result", "ok")
    with pytest.raises(OwnershipError) as info:
        ctx.set("task-b", "result", "hijacked")
    assert str(info.value) == 'variable "result" already set by task "task-a"'
    assert "already set by task" in str(info.value)


def test_rejected_overwrite_leaves_value_and_owner_unchanged(ctx: ContextMap) -> None:
    original = ctx.set("task-a", "result", "ok")
    with pytest.raises(OwnershipError):
        ctx.set("task-b", "result", "hijacked")
    assert ctx.lookup("result") == original


def test_reserved_owners_follow_the_same_rules(ctx: ContextMap) -> None:
    ctx.set(RUNTIME_OWNER, "env", "prod")
    with pytest.raises(OwnershipError, match='already set by task "__runtime__"'):
        ctx.set("deploy", "env", "dev")
    ctx.set(FORENSIC_OWNER, "failed_task", "a")
    with pytest.raises(OwnershipError):
        ctx.set(GLOBAL_FORENSIC_OWNER, "failed_task", "b")


# --- read-only and set_matrix -----------------------------------------------------------------


def test_set_matrix_creates_read_only_owner_dot_key_variables(ctx: ContextMap) -> None:
    created = ctx.set_matrix("deploy[env=prod,region=eu]", {"env": "prod", "region": "eu"})
    assert [v.name for v in created] == [
        "deploy[env=prod,region=eu].env",
        "deploy[env=prod,region=eu].region",
    ]
    variable = ctx.lookup("deploy[env=prod,region=eu].env")
    assert variable is not None
    assert (variable.value, variable.owner, variable.read_only) == (
        "prod",
        "deploy[env=prod,region=eu]",
        True,
    )


def test_read_only_matrix_variable_resists_its_owner(ctx: ContextMap) -> None:
    """The read-only matrix variable example of docs/variables.md#names-and-ownership."""
    ctx.set_matrix("deploy[env=prod]", {"env": "prod"})
    with pytest.raises(ReadOnlyError) as info:
        ctx.set("deploy[env=prod]", "deploy[env=prod].env", "x")
    assert str(info.value) == 'cannot overwrite read-only variable "deploy[env=prod].env"'
    assert ctx.get("deploy[env=prod].env") == "prod"


def test_read_only_variable_resists_other_owners_with_read_only_error(ctx: ContextMap) -> None:
    ctx.set_matrix("deploy[env=prod]", {"env": "prod"})
    with pytest.raises(ReadOnlyError):
        ctx.set("other", "deploy[env=prod].env", "x")


def test_repeating_set_matrix_with_identical_values_is_a_no_op(ctx: ContextMap) -> None:
    ctx.set_matrix("deploy[env=prod]", {"env": "prod"})
    before = ctx.variables()
    assert ctx.set_matrix("deploy[env=prod]", {"env": "prod"}) == []
    assert ctx.variables() == before
    assert len(ctx.history()) == 1


def test_repeating_set_matrix_with_a_different_value_is_a_read_only_error(
    ctx: ContextMap,
) -> None:
    ctx.set_matrix("deploy[env=prod]", {"env": "prod"})
    with pytest.raises(ReadOnlyError, match=r'read-only variable "deploy\[env=prod\].env"'):
        ctx.set_matrix("deploy[env=prod]", {"env": "dev"})
    assert ctx.get("deploy[env=prod].env") == "prod"


def test_set_matrix_with_same_text_but_different_type_is_a_read_only_error(
    ctx: ContextMap,
) -> None:
    ctx.set_matrix("job[n=1]", {"n": "1"})
    with pytest.raises(ReadOnlyError):
        ctx.set_matrix("job[n=1]", {"n": 1})


def test_set_matrix_is_all_or_nothing(ctx: ContextMap) -> None:
    ctx.set_matrix("job[a=1]", {"a": "1"})
    with pytest.raises(ReadOnlyError):
        ctx.set_matrix("job[a=1]", {"b": "new", "a": "changed"})
    assert ctx.lookup("job[a=1].b") is None
    with pytest.raises(InvalidVariableError):
        ctx.set_matrix("job[a=1]", {"c": "ok", "bad key": "x"})
    assert ctx.lookup("job[a=1].c") is None


def test_set_matrix_over_another_owners_variable_is_an_ownership_error(
    ctx: ContextMap,
) -> None:
    ctx.set("intruder", "job[a=1].a", "x")
    with pytest.raises(OwnershipError, match='already set by task "intruder"'):
        ctx.set_matrix("job[a=1]", {"a": "1"})


def test_set_matrix_names_must_pass_the_name_rule(ctx: ContextMap) -> None:
    with pytest.raises(InvalidVariableError):
        ctx.set_matrix("deploy[env=prod east]", {"env": "prod east"})


# --- names (docs/variables.md#names-and-ownership) -------------------------------------------


@pytest.mark.parametrize(
    "name", ["my_var", "result", "deploy[env=prod].output", "task-a.result", "v1", "x" * 256]
)
def test_valid_variable_names_are_accepted(ctx: ContextMap, name: str) -> None:
    ctx.set("t", name, "v")
    assert ctx.get(name) == "v"


@pytest.mark.parametrize(
    "name",
    ["", "a\x00b", "a b", "a;b", "$(cmd)", "`cmd`", "x" * 257, "a+b", "é", "a\nb", "{{.x}}"],
)
def test_invalid_variable_names_are_rejected(ctx: ContextMap, name: str) -> None:
    with pytest.raises(InvalidVariableError) as info:
        ctx.set("t", name, "v")
    assert isinstance(info.value, ValueError)
    assert "invalid variable name" in str(info.value)
    assert ctx.variables() == {}


# --- concurrency -----------------------------------------------------------------------------


def test_concurrent_sets_by_many_owners_elect_exactly_one_owner(ctx: ContextMap) -> None:
    barrier = threading.Barrier(16)
    winners: list[str] = []
    lock = threading.Lock()

    def contender(index: int) -> None:
        owner = f"task-{index}"
        barrier.wait()
        try:
            ctx.set(owner, "shared", owner)
        except OwnershipError:
            return
        with lock:
            winners.append(owner)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(contender, range(16)))
    assert len(winners) == 1
    assert ctx.lookup("shared").owner == winners[0]  # type: ignore[union-attr]


def test_concurrent_writers_and_readers_keep_the_map_consistent(ctx: ContextMap) -> None:
    writes_per_thread = 200

    def writer(index: int) -> None:
        owner = f"w{index}"
        for n in range(writes_per_thread):
            ctx.set(owner, f"{owner}.value", n)
            ctx.interpolate(f"{{{{.{owner}.value}}}}")
            ctx.eval_condition(f"{owner}.value >= 0")
            ctx.snapshot()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(writer, range(8)))
    assert len(ctx) == 8
    assert len(ctx.history()) == 8 * writes_per_thread
    assert all(ctx.get(f"w{i}.value") == writes_per_thread - 1 for i in range(8))
