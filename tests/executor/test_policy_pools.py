"""Resource pools in the pure scheduler policies: never over capacity, no deadlock, all run."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wf.executor.policy import (
    LevelPolicy,
    PoolGate,
    SchedulerPolicy,
    SequentialPolicy,
    WorkStealingPolicy,
)


@st.composite
def dags(draw: st.DrawFn) -> dict[str, list[str]]:
    """A random DAG as node -> dependencies; edges only point to lower indices (acyclic)."""
    size = draw(st.integers(min_value=1, max_value=14))
    names = [f"n{i:02d}" for i in range(size)]
    return {
        name: sorted(draw(st.lists(st.sampled_from(names[:i]), max_size=3, unique=True)))
        if i
        else []
        for i, name in enumerate(names)
    }


def levels_of(deps: dict[str, list[str]]) -> list[list[str]]:
    level: dict[str, int] = {}
    for node in sorted(deps):  # dependencies always have lower indices
        level[node] = 1 + max((level[d] for d in deps[node]), default=-1)
    out: list[list[str]] = [[] for _ in range(max(level.values()) + 1)]
    for node, lv in level.items():
        out[lv].append(node)
    return [sorted(x) for x in out]


MODES = ["sequential", "parallel", "work_stealing"]
POOLS = settings(max_examples=300, deadline=None)


@st.composite
def pooled(
    draw: st.DrawFn,
) -> tuple[dict[str, list[str]], dict[str, int], dict[str, dict[str, int]]]:
    """A random DAG, random pool capacities, and random weights (each within its capacity)."""
    deps = draw(dags())
    names = draw(st.lists(st.sampled_from(["gpu", "db", "net"]), min_size=1, unique=True))
    capacities = {name: draw(st.integers(min_value=1, max_value=3)) for name in names}
    demands: dict[str, dict[str, int]] = {}
    for node in deps:
        used = draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names)))
        demands[node] = {
            pool: draw(st.integers(min_value=1, max_value=capacities[pool])) for pool in used
        }
    return deps, capacities, demands


def make(
    mode: str,
    deps: dict[str, list[str]],
    gate: PoolGate,
    priority: dict[str, float] | None = None,
) -> SchedulerPolicy:
    if mode == "sequential":
        return SequentialPolicy([n for lv in levels_of(deps) for n in lv], deps, gate)
    if mode == "parallel":
        return LevelPolicy(levels_of(deps), deps, gate)
    return WorkStealingPolicy(list(deps), deps, priority=priority, pools=gate)


def in_flight(running: set[str], demands: dict[str, dict[str, int]]) -> dict[str, int]:
    used: dict[str, int] = {}
    for node in running:
        for pool, weight in demands[node].items():
            used[pool] = used.get(pool, 0) + weight
    return used


@POOLS
@given(
    case=pooled(),
    mode=st.sampled_from(MODES),
    workers=st.integers(min_value=1, max_value=6),
    picks=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=40),
    prioritised=st.booleans(),
)
def test_pools_are_never_over_capacity_and_every_node_runs(
    case: tuple[dict[str, list[str]], dict[str, int], dict[str, dict[str, int]]],
    mode: str,
    workers: int,
    picks: list[int],
    prioritised: bool,
) -> None:
    deps, capacities, demands = case
    priority = {n: float(len(n) * 7 % 5) for n in deps} if prioritised else None
    gate = PoolGate(capacities, demands)
    policy = make(mode, deps, gate, priority)
    if mode == "sequential":
        workers = 1
    running: set[str] = set()
    done: set[str] = set()
    step = 0
    while True:
        free = workers - len(running)
        started = policy.next_ready(free)
        for node in started:
            assert node not in done
            assert node not in running
            assert all(dep in done for dep in deps[node]), f"{node} started too early"
            running.add(node)
        used = in_flight(running, demands)
        assert all(used.get(p, 0) <= cap for p, cap in capacities.items()), (used, capacities)
        assert gate.in_use == {p: used.get(p, 0) for p in capacities}
        if mode == "work_stealing" and len(started) < free:
            # Work-conserving: a released node left waiting does not fit what is left.
            for node in deps:
                released = all(dep in done for dep in deps[node])
                if released and node not in running and node not in done:
                    assert not gate.fits(node), f"{node} fits but was held back"
        if not running:
            break  # nothing in flight and nothing startable: the run is over
        order = sorted(running)
        node = order[picks[step % len(picks)] % len(order)]
        step += 1
        running.discard(node)
        done.add(node)
        policy.finished(node, completed=True)
    assert done == set(deps), f"never ran: {sorted(set(deps) - done)} (deadlock)"
    assert gate.in_use == dict.fromkeys(capacities, 0)


def test_a_node_that_does_not_fit_waits_without_blocking_one_that_fits() -> None:
    deps: dict[str, list[str]] = {"a": [], "b": [], "c": []}
    demands = {"a": {"gpu": 1}, "b": {"gpu": 1}, "c": {}}
    # b is the most urgent but cannot start while a holds the only gpu; c can.
    priority = {"a": 3.0, "b": 2.0, "c": 1.0}
    gate = PoolGate({"gpu": 1}, demands)
    policy = WorkStealingPolicy(list(deps), deps, priority=priority, pools=gate)
    assert policy.next_ready(3) == ["a", "c"]
    assert policy.next_ready(1) == []
    policy.finished("a", completed=True)
    assert policy.next_ready(1) == ["b"]


def test_critical_path_order_among_the_nodes_that_fit() -> None:
    deps: dict[str, list[str]] = {n: [] for n in "abcd"}
    demands = {"a": {"db": 2}, "b": {"db": 1}, "c": {"db": 1}, "d": {"db": 1}}
    priority = {"a": 1.0, "b": 5.0, "c": 2.0, "d": 4.0}
    policy = WorkStealingPolicy(
        list(deps), deps, priority=priority, pools=PoolGate({"db": 2}, demands)
    )
    assert policy.next_ready(4) == ["b", "d"]  # a (weight 2) does not fit beside b
    policy.finished("b", completed=True)
    assert policy.next_ready(4) == ["c"]  # c before a: a still does not fit beside d
    policy.finished("d", completed=True)
    policy.finished("c", completed=True)
    assert policy.next_ready(4) == ["a"]


def test_the_level_policy_passes_over_a_node_and_keeps_its_place() -> None:
    deps: dict[str, list[str]] = {"a": [], "b": [], "c": [], "d": ["a"]}
    demands = {"a": {"gpu": 1}, "b": {"gpu": 1}, "c": {}, "d": {}}
    policy = LevelPolicy([["a", "b", "c"], ["d"]], deps, PoolGate({"gpu": 1}, demands))
    assert policy.next_ready(4) == ["a", "c"]
    policy.finished("a", completed=True)
    assert policy.next_ready(4) == ["b"]
    policy.finished("c", completed=True)
    assert policy.next_ready(4) == []  # the level is not over until b ends
    policy.finished("b", completed=True)
    assert policy.next_ready(4) == ["d"]


@pytest.mark.parametrize(
    ("capacities", "demands"),
    [({"gpu": 1}, {"a": {"gpu": 2}}), ({}, {"a": {"gpu": 1}}), ({"gpu": 1}, {"a": {"gpu": 0}})],
)
def test_a_weight_that_can_never_fit_is_refused(
    capacities: dict[str, int], demands: dict[str, dict[str, int]]
) -> None:
    with pytest.raises(ValueError, match="does not fit pool"):
        PoolGate(capacities, demands)
