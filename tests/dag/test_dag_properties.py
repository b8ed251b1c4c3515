"""Property tests: hostile input raises only WorkflowError; built DAGs keep their invariants."""

from __future__ import annotations

import itertools
import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wf.dag import DAG, WorkflowError, build_dag, parse_workflow, parse_workflow_text
from wf.dag.tasks import TASK_KEYS

FAST = settings(max_examples=200, deadline=None)
GRAPHS = settings(max_examples=100, deadline=None)


# --- a tiny TOML writer (there is no tomli_w) ----------------------------------------------


def toml_string(text: str) -> str:
    # JSON escapes are valid TOML basic-string escapes; TOML also wants DEL escaped.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    assert isinstance(value, dict)
    pairs = (f"{toml_string(key)} = {toml_value(item)}" for key, item in value.items())
    return "{ " + ", ".join(pairs) + " }"


def toml_document(document: dict[str, Any]) -> str:
    """Top-level keys as ``key = value`` lines; tasks as ``[tasks."<id>"]`` tables."""
    lines = [
        f"{toml_string(key)} = {toml_value(value)}"
        for key, value in document.items()
        if key != "tasks" or not isinstance(value, dict)
    ]
    tasks = document.get("tasks")
    if isinstance(tasks, dict):
        for task_id, table in tasks.items():
            if isinstance(table, dict):
                lines.append(f"[tasks.{toml_string(task_id)}]")
                lines.extend(f"{toml_string(k)} = {toml_value(v)}" for k, v in table.items())
            else:
                lines.append(f"tasks.{toml_string(task_id)} = {toml_value(table)}")
    return "\n".join(lines) + "\n"


# --- strategies -----------------------------------------------------------------------------

IDS = ["a", "b", "c", "d", "__x", "a b", "", "f"]
scalars = st.one_of(
    st.text(max_size=8),
    st.integers(min_value=-5, max_value=300),
    st.floats(),
    st.booleans(),
)
anything = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
durations = st.one_of(
    st.sampled_from(["0", "30", "500ms", "1m30s", "1h30", "-5s", "2h", "abc", "50ms", "25h"]),
    st.integers(min_value=-2, max_value=100_000),
    st.floats(),
)
references = st.sampled_from(IDS).flatmap(
    lambda task_id: st.sampled_from(
        [task_id, f"{task_id}[k=1]", f"{task_id}[k=x,j=2]", f"{task_id}["]
    )
)
matrices = st.dictionaries(
    st.sampled_from(["k", "j", "a b", ""]),
    st.lists(st.one_of(st.sampled_from(["1", "2", "x", "a b"]), scalars), max_size=3) | anything,
    max_size=2,
)
GOOD: dict[str, st.SearchStrategy[Any]] = {
    "cmd": st.sampled_from(["true", "", "  ", "echo \x00"]) | st.text(max_size=5),
    "type": st.sampled_from(["normal", "forensic", "other"]),
    "depends_on": st.lists(references, max_size=3),
    "matrix": matrices,
    "on_failure": st.sampled_from(IDS),
    "retries": st.integers(min_value=-1, max_value=12),
    "retry_backoff": st.floats() | st.integers(min_value=0, max_value=3),
    "retry_delay": durations,
    "retry_max_delay": durations,
    "timeout": durations,
    "kill_grace": durations,
    "working_dir": st.sampled_from(["", "./x", "x", "/proc", "/tmp/{{.d}}", "/dev/{{.x}}"]),
    "env": st.dictionaries(st.sampled_from(["A", "LD_PRELOAD", "1x", "b"]), scalars, max_size=2),
    "register": st.sampled_from(["out", "failed_task", "a b", "{{.x}}", ""]),
    "if": st.sampled_from(["a == 1", "a = 1", "a", "", "(x"]) | st.text(max_size=6),
}


@st.composite
def task_tables(draw: st.DrawFn, *, clean: bool) -> dict[str, Any]:
    """A task table; ``clean`` tables use only known keys and mostly sensible values."""
    extra_keys = [] if clean else ["cmnd", "zzz"]
    keys = draw(st.lists(st.sampled_from([*TASK_KEYS, *extra_keys]), unique=True, max_size=5))
    table = {"cmd": "true"} if clean or draw(st.booleans()) else {}
    for key in keys:
        strategy = GOOD.get(key, anything)
        if clean:
            strategy = CLEAN.get(key, strategy)
        elif draw(st.booleans()):
            strategy = st.one_of(strategy, anything)
        table[key] = draw(strategy)
    return table


CLEAN: dict[str, st.SearchStrategy[Any]] = {
    "cmd": st.just("true"),
    "type": st.sampled_from(["normal", "normal", "forensic"]),
    "name": st.text(max_size=5),
    "description": st.text(max_size=5),
    "depends_on": st.lists(st.sampled_from(["a", "b", "c", "d", "b[k=1]"]), max_size=3),
    "matrix": st.dictionaries(
        st.sampled_from(["k", "j"]),
        st.lists(st.sampled_from(["1", "2", "x"]), min_size=1, max_size=3, unique=True),
        max_size=2,
    ),
    "on_failure": st.just("f"),
    "env": st.dictionaries(st.sampled_from(["A", "b"]), st.text(max_size=3)),
    "clean_env": st.booleans(),
    "ignore_failure": st.booleans(),
    "retries": st.integers(min_value=0, max_value=12),
    "retry_backoff": st.floats(min_value=1.0, max_value=10.0),
    "register": st.sampled_from(["out", "{{.x}}", ""]),
}


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    document: dict[str, Any] = {}
    if draw(st.booleans()):
        clean_ids = st.sampled_from(["a", "b", "c", "d", "f"])
        tables = st.dictionaries(clean_ids, task_tables(clean=True), min_size=1, max_size=5)
        document["tasks"] = draw(tables)
        return document
    if draw(st.booleans()):
        document["name"] = draw(st.sampled_from(["flow", "other", "../x", ""]) | anything)
    if draw(st.booleans()):
        document["on_failure"] = draw(st.sampled_from(IDS) | anything)
    if draw(st.booleans()):
        trigger = st.fixed_dictionaries(
            {"type": st.sampled_from(["cron", "webhook", "x"]) | anything},
            optional={"config": anything, "extra": anything},
        )
        document["triggers"] = draw(st.lists(trigger | anything, max_size=2) | anything)
    if draw(st.booleans()):
        document[draw(st.sampled_from(["tags", "descripton", "x"]))] = draw(anything)
    tasks = st.dictionaries(st.sampled_from(IDS), task_tables(clean=False) | anything, max_size=4)
    document["tasks"] = draw(tasks | anything) if draw(st.booleans()) else draw(tasks)
    return document


def load(text: str, name: str = "flow") -> DAG | None:
    """Parse and build; None when the workflow is (correctly) rejected."""
    try:
        return build_dag(parse_workflow_text(text, name=name))
    except WorkflowError as error:
        caught = error
    assert caught.errors
    assert all(isinstance(e, str) and "\n" not in e for e in caught.errors)
    return None


# --- hostile input ----------------------------------------------------------------------------


@FAST
@given(documents())
def test_random_toml_documents_raise_only_workflow_errors(document: dict[str, Any]) -> None:
    dag = load(toml_document(document))
    if dag is not None:
        check_invariants(dag)


@FAST
@given(st.text(max_size=300))
def test_random_text_raises_only_workflow_errors(text: str) -> None:
    load(text)


VALID = b'name = "flow"\n[tasks.a]\ncmd = "true"\n[tasks.b]\ncmd = "x"\ndepends_on = ["a"]\n'


@st.composite
def mutated_bytes(draw: st.DrawFn) -> bytes:
    data = bytearray(VALID)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        position = draw(st.integers(min_value=0, max_value=len(data)))
        data[position:position] = draw(st.binary(min_size=1, max_size=3))
    return bytes(data)


@settings(FAST, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300) | mutated_bytes())
def test_random_bytes_in_a_file_raise_only_workflow_errors(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "random.toml"
    path.write_bytes(data)
    try:
        build_dag(parse_workflow(path))
    except WorkflowError as error:
        caught = error
    else:
        return
    assert caught.errors


# --- random DAGs --------------------------------------------------------------------------


# Names chosen so that code-point order differs from any "natural" order.
NAME_POOL = [
    *"abcdxyzABCXYZ0123",
    *["_a", "-a", "a-b", "a_b", "aa", "a0", "Z9", "x10", "x2", "x1", "B_", "b-", "_ok"],
]


@st.composite
def acyclic_graphs(draw: st.DrawFn) -> dict[str, list[str]]:
    """Task ID -> dependencies; edges only go from earlier to later in a random order."""
    count = draw(st.integers(min_value=1, max_value=25))
    names = draw(st.permutations(NAME_POOL))[:count]
    graph: dict[str, list[str]] = {}
    for index, name in enumerate(names):
        graph[name] = draw(st.lists(st.sampled_from(names[:index]), max_size=4)) if index else []
    return graph


def graph_toml(graph: dict[str, list[str]], order: list[str] | None = None) -> str:
    parts = []
    for task_id in order or list(graph):
        depends = ", ".join(toml_string(dep) for dep in graph[task_id])
        parts.append(f'[tasks.{toml_string(task_id)}]\ncmd = "true"\ndepends_on = [{depends}]\n')
    return "".join(parts)


def check_invariants(dag: DAG) -> None:
    flat = [node_id for level in dag.levels for node_id in level]
    assert sorted(flat) == sorted(dag.nodes)
    assert len(set(flat)) == len(flat) == dag.total_tasks
    for index, level in enumerate(dag.levels):
        assert level == sorted(level)
        assert level
        for node_id in level:
            node = dag.nodes[node_id]
            assert node.level == index
            assert node.can_run_in_parallel == (len(level) > 1)
            deps = [dag.nodes[d].level for d in node.dependencies]
            assert all(level_of < index for level_of in deps)
            assert index == (max(deps) + 1 if deps else 0)
            assert node.dependents == sorted(node.dependents)
            for dependent in node.dependents:
                assert node_id in dag.nodes[dependent].dependencies
    assert dag.roots == sorted(n for n, node in dag.nodes.items() if not node.dependencies)
    assert dag.leaves == sorted(n for n, node in dag.nodes.items() if not node.dependents)
    assert dag.validated


@GRAPHS
@given(acyclic_graphs())
def test_random_dags_keep_level_invariants(graph: dict[str, list[str]]) -> None:
    dag = load(graph_toml(graph))
    assert dag is not None
    check_invariants(dag)
    for task_id, deps in graph.items():
        assert sorted(dag.nodes[task_id].dependencies) == sorted(set(deps))


@GRAPHS
@given(acyclic_graphs(), st.randoms(use_true_random=False))
def test_levels_do_not_depend_on_file_order(
    graph: dict[str, list[str]], rnd: random.Random
) -> None:
    order = list(graph)
    rnd.shuffle(order)
    first, second = load(graph_toml(graph)), load(graph_toml(graph, order))
    assert first is not None
    assert second is not None
    assert first.levels == second.levels
    assert first.to_json() == second.to_json()


@GRAPHS
@given(acyclic_graphs(), st.data())
def test_cycles_are_always_detected(graph: dict[str, list[str]], data: st.DataObject) -> None:
    names = list(graph)
    # Make an earlier task depend on a later one (or on itself): that closes a cycle only if
    # the later one reaches it, so pick the later one from the earlier one's descendants.
    start = data.draw(st.sampled_from(names))
    descendants = [start]
    for name in names:
        if any(dep in descendants for dep in graph[name]) and name not in descendants:
            descendants.append(name)
    end = data.draw(st.sampled_from(descendants))
    graph[start] = [*graph[start], end]

    with pytest.raises(WorkflowError) as caught:
        build_dag(parse_workflow_text(graph_toml(graph), name="flow"))
    [message] = caught.value.errors
    prefix = "circular dependency detected: "
    assert message.startswith(prefix)
    path = message.removeprefix(prefix).split(" -> ")
    assert path[0] == path[-1]
    for upstream, downstream in itertools.pairwise(path):
        assert upstream in graph[downstream]
    with pytest.raises(WorkflowError) as again:
        build_dag(parse_workflow_text(graph_toml(graph, list(reversed(names))), name="flow"))
    assert again.value.errors == [message]
