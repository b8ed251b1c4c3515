"""The json graph: top-level keys, per-node keys, levels, states."""

from __future__ import annotations

import json

from wf.dag.render import graph_json, render

TOP_KEYS = {
    "name",
    "total_tasks",
    "execution_levels",
    "nodes",
    "root_nodes",
    "leaf_nodes",
    "global_trap",
    "has_forensic_tasks",
    "has_matrix_tasks",
}
NODE_KEYS = {
    "id",
    "task_name",
    "command",
    "type",
    "level",
    "dependencies",
    "dependents",
    "is_expanded",
    "matrix_vars",
    "timeout",
    "retries",
    "is_forensic",
    "can_parallelise",
    "condition",
}


def test_keys_are_exactly_the_specified_ones(shape):
    data = graph_json(shape)
    assert set(data) == TOP_KEYS
    assert all(set(node) == NODE_KEYS for node in data["nodes"])


def test_nodes_follow_sequential_order_and_levels_match(shape):
    data = graph_json(shape)
    assert [node["id"] for node in data["nodes"]] == shape.sequential_order()
    assert [level["tasks"] for level in data["execution_levels"]] == shape.levels
    assert [level["level_index"] for level in data["execution_levels"]] == list(
        range(len(shape.levels))
    )


def test_fan_out_counts_parallelisable_tasks_per_level(shapes):
    data = graph_json(shapes["fan_out_in"]())
    assert [level["parallelisable_count"] for level in data["execution_levels"]] == [0, 3, 0]
    assert data["root_nodes"] == ["root"]
    assert data["leaf_nodes"] == ["final"]
    assert data["total_tasks"] == 5


def test_matrix_nodes_carry_their_variables(shapes):
    data = graph_json(shapes["matrix"]())
    assert data["has_matrix_tasks"] is True
    node = data["nodes"][1]
    assert node["id"] == "test[python=3.11,region=eu]"
    assert node["is_expanded"] is True
    assert node["matrix_vars"] == {"python": "3.11", "region": "eu"}
    assert node["can_parallelise"] is True
    assert data["nodes"][-1]["dependencies"] == [n["id"] for n in data["nodes"][1:5]]


def test_global_trap_is_its_task_id(shapes):
    data = graph_json(shapes["global_trap"]())
    assert data["global_trap"] == "page-oncall"
    assert data["has_forensic_tasks"] is True
    assert graph_json(shapes["chain"]())["global_trap"] is None


def test_timeout_is_seconds_or_null(make_dag):
    dag = make_dag({"a": {"timeout": 90.0, "retries": 2}, "b": {"depends_on": ["a"], "timeout": 0}})
    first, second = graph_json(dag)["nodes"]
    assert first["timeout"] == 90.0
    assert first["retries"] == 2
    assert second["timeout"] is None


def test_condition_and_display_name(dag_from_toml):
    dag = dag_from_toml(
        """
        [tasks.a]
        name = "Alpha"
        cmd  = "true"
        if   = 'x == "1"'
        """
    )
    (node,) = graph_json(dag)["nodes"]
    assert node["task_name"] == "Alpha"
    assert node["condition"] == 'x == "1"'
    assert node["type"] == "normal"
    assert node["is_forensic"] is False


def test_state_is_added_only_with_states(shapes):
    dag = shapes["chain"]()
    assert all("state" not in node for node in graph_json(dag)["nodes"])
    data = graph_json(dag, states={"a": "success"})
    assert [node["state"] for node in data["nodes"]] == ["success", None, None]


def test_render_json_is_indented_json(shapes):
    text = render(shapes["diamond"](), "json")
    assert json.loads(text) == graph_json(shapes["diamond"]())
    assert text.startswith('{\n  "name": "diamond"')
