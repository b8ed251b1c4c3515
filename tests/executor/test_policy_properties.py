"""Property tests of the pure scheduler policies: random DAGs, outcomes and finish orders."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wf.executor.policy import LevelPolicy, SequentialPolicy, WorkStealingPolicy


@st.composite
def dags(draw: st.DrawFn) -> dict[str, list[str]]:
    """A random DAG as node -> dependencies; edges only point to lower indices (acyclic)."""
    size = draw(st.integers(min_value=1, max_value=14))
    names = [f"n{i:02d}" for i in range(size)]
    deps: dict[str, list[str]] = {}
    for i, name in enumerate(names):
        if i == 0:
            deps[name] = []
            continue
        chosen = draw(st.lists(st.sampled_from(names[:i]), max_size=3, unique=True))
        deps[name] = sorted(chosen)
    return deps


def levels_of(deps: dict[str, list[str]]) -> list[list[str]]:
    level: dict[str, int] = {}
    for node in sorted(deps):  # dependencies always have lower indices
        level[node] = 1 + max((level[d] for d in deps[node]), default=-1)
    out: list[list[str]] = [[] for _ in range(max(level.values()) + 1)]
    for node, lv in level.items():
        out[lv].append(node)
    return [sorted(x) for x in out]


def make(mode: str, deps: dict[str, list[str]]):
    order = [n for lv in levels_of(deps) for n in lv]
    if mode == "sequential":
        return SequentialPolicy(order, deps)
    if mode == "parallel":
        return LevelPolicy(levels_of(deps), deps)
    return WorkStealingPolicy(list(deps), deps)


def simulate(mode, deps, workers, outcomes, picks):
    """Drive the policy like the engine does; return the event log and final state."""
    policy = make(mode, deps)
    if mode == "sequential":
        workers = 1
    running: list[str] = []
    finished: dict[str, bool] = {}
    started_order: list[str] = []
    stopped = False
    step = 0
    events: list[tuple[str, str]] = []
    while True:
        new = policy.next_ready(workers - len(running))
        for node in new:
            assert not stopped, "a node started after fail-fast"
            assert node not in started_order, "a node started twice"
            for dep in deps[node]:
                assert finished.get(dep) is True, f"{node} started before {dep} completed"
            started_order.append(node)
            running.append(node)
            events.append(("start", node))
        assert len(running) <= workers
        assert set(running) == set(policy.running)
        if not running:
            break
        node = running.pop(picks[step % len(picks)] % len(running))
        completed = outcomes.get(node, True)
        step += 1
        finished[node] = completed
        events.append(("end", node))
        policy.finished(node, completed=completed)
        if not completed and mode == "work_stealing":
            policy.stop()
            stopped = True
    return started_order, finished, events


outcome_maps = st.dictionaries(
    st.sampled_from([f"n{i:02d}" for i in range(14)]), st.booleans(), max_size=4
)
settings_ = settings(max_examples=75, deadline=None)


@pytest.mark.parametrize("mode", ["sequential", "parallel", "work_stealing"])
@settings_
@given(
    deps=dags(),
    workers=st.integers(1, 4),
    picks=st.lists(st.integers(0, 10), min_size=1, max_size=20),
)
def test_all_succeed_every_node_runs_once_after_its_dependencies(mode, deps, workers, picks):
    started, finished, _ = simulate(mode, deps, workers, {}, picks)
    assert sorted(started) == sorted(deps)
    assert all(finished.values())


@pytest.mark.parametrize("mode", ["sequential", "parallel", "work_stealing"])
@settings_
@given(
    deps=dags(),
    workers=st.integers(1, 4),
    outcomes=outcome_maps,
    picks=st.lists(st.integers(0, 10), min_size=1, max_size=20),
)
def test_failures_block_dependents_and_invariants_hold(mode, deps, workers, outcomes, picks):
    started, finished, _ = simulate(mode, deps, workers, outcomes, picks)
    any_failure = any(not ok for ok in finished.values())
    if not any_failure:
        assert sorted(started) == sorted(deps)
    for node in started:
        for dep in deps[node]:
            assert finished[dep] is True


@settings_
@given(deps=dags(), picks=st.lists(st.integers(0, 10), min_size=1, max_size=20))
def test_work_stealing_starts_every_node_whose_dependencies_completed(deps, picks):
    started, finished, _ = simulate("work_stealing", deps, 3, {}, picks)
    for node, node_deps in deps.items():
        if all(finished.get(d) for d in node_deps):
            assert node in started


@settings_
@given(deps=dags(), workers=st.integers(1, 4), picks=st.lists(st.integers(0, 10), min_size=1))
def test_level_policy_never_starts_a_level_before_the_previous_one_ended(deps, workers, picks):
    level = {n: i for i, lv in enumerate(levels_of(deps)) for n in lv}
    _, _, events = simulate("parallel", deps, workers, {}, picks)
    ended: set[str] = set()
    for kind, node in events:
        if kind == "start":
            earlier = [n for n in deps if level[n] < level[node]]
            assert all(n in ended for n in earlier)
        else:
            ended.add(node)


@settings_
@given(deps=dags(), outcomes=outcome_maps, picks=st.lists(st.integers(0, 10), min_size=1))
def test_sequential_runs_one_at_a_time_in_level_order_and_stops_at_first_failure(
    deps, outcomes, picks
):
    order = [n for lv in levels_of(deps) for n in lv]
    started, finished, events = simulate("sequential", deps, 4, outcomes, picks)
    assert started == order[: len(started)]
    for i in range(0, len(events), 2):
        assert events[i][0] == "start"
        assert events[i + 1] == ("end", events[i][1])
    failed = [n for n in started if not finished[n]]
    if failed:
        assert started[-1] == failed[0]


def test_work_stealing_releases_nodes_in_id_order_and_respects_priority():
    deps = {"a": [], "c": [], "b": []}
    assert WorkStealingPolicy(list(deps), deps).next_ready(3) == ["a", "b", "c"]
    prio = {"a": 1.0, "b": 5.0, "c": 3.0}
    assert WorkStealingPolicy(list(deps), deps, priority=prio).next_ready(3) == ["b", "c", "a"]


def test_a_node_finishing_twice_is_an_error():
    policy = WorkStealingPolicy(["a"], {"a": []})
    policy.next_ready(1)
    policy.finished("a", completed=True)
    with pytest.raises(RuntimeError):
        policy.finished("a", completed=True)
