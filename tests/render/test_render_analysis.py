"""Graph facts behind the renderers: critical paths, highlight lineage, node kinds."""

from __future__ import annotations

import time

import pytest

from wf.dag.render import critical_paths, resolve_highlight
from wf.dag.render.analysis import (
    KIND_LEAF,
    KIND_MATRIX,
    KIND_OTHER,
    KIND_ROOT,
    compact_dependencies,
    expansion_counts,
    node_kind,
)
from wf.errors import UsageError


def test_critical_path_of_a_chain_is_the_whole_chain(shapes):
    assert critical_paths(shapes["chain"]()) == [["a", "b", "c"]]


def test_critical_paths_of_a_diamond_are_both_branches_in_id_order(shapes):
    assert critical_paths(shapes["diamond"]()) == [["a", "b", "d"], ["a", "c", "d"]]


def test_critical_paths_stop_at_the_limit(shapes):
    dag = shapes["fan_out_in"]()
    assert critical_paths(dag) == [
        ["root", "t1", "final"],
        ["root", "t2", "final"],
        ["root", "t3", "final"],
    ]
    assert critical_paths(dag, limit=1) == [["root", "t1", "final"]]
    assert critical_paths(dag, limit=0) == []


def test_longer_chain_wins_over_smaller_ids(make_dag):
    dag = make_dag({"a": [], "b": [], "c": ["b"], "z": ["c"]})
    assert critical_paths(dag) == [["b", "c", "z"], ["a"]]


def test_independent_tasks_give_single_node_paths(shapes):
    assert critical_paths(shapes["independent"]()) == [["w"], ["x"], ["y"]]


def test_critical_paths_of_empty_dag_are_empty(make_dag):
    assert critical_paths(make_dag({})) == []


def test_critical_paths_do_not_enumerate_exponentially_many_paths(make_dag):
    # 40 levels of two fully connected nodes: 2**40 root-to-leaf paths.
    tasks: dict[str, list[str]] = {"l00a": [], "l00b": []}
    for level in range(1, 40):
        prev = [f"l{level - 1:02d}a", f"l{level - 1:02d}b"]
        tasks[f"l{level:02d}a"] = prev
        tasks[f"l{level:02d}b"] = prev
    dag = make_dag(tasks)
    started = time.perf_counter()
    paths = critical_paths(dag)
    assert time.perf_counter() - started < 2
    assert len(paths) == 3
    assert all(len(path) == 40 for path in paths)
    assert paths[0] == [f"l{level:02d}a" for level in range(40)]
    assert paths[1] == [*paths[0][:-1], "l39b"]


def test_node_kind_precedence_is_root_matrix_leaf_other(make_dag):
    dag = make_dag(
        {
            "r": [],
            "m": {"depends_on": ["r"], "matrix": {"x": ["1"]}},
            "mid": ["m"],
            "end": ["mid"],
        }
    )
    kinds = {node_id: node_kind(node) for node_id, node in dag.nodes.items()}
    assert kinds == {"r": KIND_ROOT, "m[x=1]": KIND_MATRIX, "mid": KIND_OTHER, "end": KIND_LEAF}


def test_highlight_of_a_node_collects_ancestors_and_descendants(shapes):
    lit = resolve_highlight(shapes["diamond"](), "b")
    assert lit.targets == {"b"}
    assert lit.ancestors == {"a"}
    assert lit.descendants == {"d"}
    assert lit.role("b") == "target"
    assert lit.role("d") == "related"
    assert lit.role("c") == "other"


def test_highlight_of_a_matrix_task_targets_every_expansion(shapes):
    lit = resolve_highlight(shapes["matrix"](), "test")
    assert len(lit.targets) == 4
    assert lit.ancestors == {"setup"}
    assert lit.descendants == {"report"}


def test_highlight_of_unknown_task_is_a_usage_error(shapes):
    with pytest.raises(UsageError, match="nope"):
        resolve_highlight(shapes["chain"](), "nope")


def test_dependencies_on_every_expansion_are_written_as_star(shapes, make_dag):
    dag = shapes["matrix"]()
    counts = expansion_counts(dag)
    assert compact_dependencies(dag, dag.nodes["report"], counts) == ["test[*]"]
    partial = make_dag(
        {"m": {"matrix": {"x": ["1", "2"]}}, "one": ["m[x=1]"], "both": ["m[x=1]", "m[x=2]"]}
    )
    counts = expansion_counts(partial)
    assert compact_dependencies(partial, partial.nodes["one"], counts) == ["m[x=1]"]
    assert compact_dependencies(partial, partial.nodes["both"], counts) == ["m[*]"]
