"""DAG building: reference shapes, levels, traps, serialisation, determinism.

See docs/workflow-files.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from wf.dag import (
    DAG,
    GLOBAL_TRAP_ID,
    TaskDefinition,
    WorkflowDefinition,
    WorkflowError,
    build_dag,
    parse_workflow_text,
)

DagOf = Callable[..., DAG]


def tasks(**deps: list[str]) -> str:
    """TOML for tasks named by the keywords, each depending on the listed tasks."""
    out = []
    for task_id, upstream in deps.items():
        out.append(f'[tasks.{task_id}]\ncmd = "echo {task_id}"\ndepends_on = {upstream!r}\n')
    return "".join(out).replace("'", '"')


def test_chain_gives_one_node_per_level(dag_of: DagOf) -> None:
    dag = dag_of(tasks(a=[], b=["a"], c=["b"]))
    assert dag.levels == [["a"], ["b"], ["c"]]
    assert dag.roots == ["a"]
    assert dag.leaves == ["c"]
    assert not any(node.can_run_in_parallel for node in dag.nodes.values())


def test_diamond(dag_of: DagOf) -> None:
    dag = dag_of(tasks(d=["b", "c"], c=["a"], b=["a"], a=[]))
    assert dag.levels == [["a"], ["b", "c"], ["d"]]
    assert dag.nodes["b"].can_run_in_parallel
    assert dag.nodes["c"].can_run_in_parallel
    assert not dag.nodes["a"].can_run_in_parallel
    assert dag.nodes["d"].level == 2
    assert dag.nodes["d"].dependencies == ["b", "c"]
    assert dag.nodes["a"].dependents == ["b", "c"]


def test_fan_out_fan_in(dag_of: DagOf) -> None:
    dag = dag_of(tasks(root=[], t1=["root"], t2=["root"], t3=["root"], final=["t1", "t2", "t3"]))
    assert len(dag.levels) == 3
    assert dag.roots == ["root"]
    assert dag.leaves == ["final"]
    assert dag.levels[1] == ["t1", "t2", "t3"]


def test_four_independent_tasks(dag_of: DagOf) -> None:
    dag = dag_of(tasks(d=[], b=[], a=[], c=[]))
    assert dag.levels == [["a", "b", "c", "d"]]
    assert dag.roots == ["a", "b", "c", "d"]
    assert dag.leaves == ["a", "b", "c", "d"]
    assert dag.total_tasks == 4
    assert all(node.can_run_in_parallel for node in dag.nodes.values())


def test_level_is_one_more_than_the_deepest_dependency(dag_of: DagOf) -> None:
    dag = dag_of(tasks(a=[], b=["a"], c=["b"], d=["a", "c"]))
    assert dag.levels == [["a"], ["b"], ["c"], ["d"]]


def test_levels_sort_by_code_point(dag_of: DagOf) -> None:
    dag = dag_of(tasks(b=[], B=[], a=[], _=[], A=[]))
    assert dag.levels == [["A", "B", "_", "a", "b"]]


def test_duplicate_dependencies_are_ignored(dag_of: DagOf) -> None:
    dag = dag_of(tasks(a=[], b=["a", "a"]))
    assert dag.nodes["b"].dependencies == ["a"]
    assert dag.nodes["b"].task.depends_on == ["a"]


def test_dependencies_keep_declaration_order_and_dependents_are_sorted(dag_of: DagOf) -> None:
    dag = dag_of(tasks(z=[], a=[], m=["z", "a"], b=["z"]))
    assert dag.nodes["m"].dependencies == ["z", "a"]
    assert dag.nodes["z"].dependents == ["b", "m"]


def test_sequential_order_is_level_then_id(dag_of: DagOf) -> None:
    dag = dag_of(tasks(c=[], a=[], d=["c"], b=["a"]))
    assert dag.sequential_order() == ["a", "c", "b", "d"]
    assert list(dag.nodes) == dag.sequential_order()


FORENSIC = """
name = "flow"
description = "demo"
tags = ["x", "y"]
on_failure = "page"

[tasks.build]
cmd = "make"
on_failure = "cleanup"

[tasks.cleanup]
type = "forensic"
cmd = "rm -rf tmp"

[tasks.page]
type = "forensic"
cmd = "page"
"""


def test_forensic_tasks_are_kept_out_of_the_graph(dag_of: DagOf) -> None:
    dag = dag_of(FORENSIC)
    assert list(dag.nodes) == ["build"]
    assert dag.levels == [["build"]]
    assert dag.roots == dag.leaves == ["build"]
    assert dag.total_tasks == 1
    assert list(dag.forensic_tasks) == ["cleanup", "page"]
    assert dag.forensic_tasks["cleanup"].is_forensic


def test_global_trap_is_a_node_outside_the_graph(dag_of: DagOf) -> None:
    dag = dag_of(FORENSIC)
    assert dag.global_trap is not None
    assert dag.global_trap.id == GLOBAL_TRAP_ID
    assert dag.global_trap.task.id == "page"
    assert dag.global_trap.task.type == "forensic"
    assert GLOBAL_TRAP_ID not in dag.nodes
    assert dag.validated


def test_dag_carries_workflow_metadata(dag_of: DagOf) -> None:
    text = FORENSIC + '\n[[triggers]]\ntype = "cron"\nconfig = { schedule = "@daily" }\n'
    dag = dag_of(text)
    assert (dag.name, dag.description, dag.tags) == ("flow", "demo", ["x", "y"])
    assert [(t.type, t.config) for t in dag.triggers] == [("cron", {"schedule": "@daily"})]


def test_no_global_trap_without_on_failure(dag_of: DagOf) -> None:
    dag = dag_of(tasks(a=[]))
    assert dag.global_trap is None
    assert "global_trap" not in dag.to_dict()


def test_task_definition_defaults() -> None:
    definition = parse_workflow_text('[tasks.a]\ncmd = "true"\n', name="flow")
    task = definition.tasks["a"]
    assert task == TaskDefinition(id="a", cmd="true", name="a")
    assert task.timeout is None
    assert task.kill_grace is None
    assert task.retry_max_delay is None


def test_task_keys_are_parsed_into_the_definition() -> None:
    text = """
[tasks.up]
cmd = "true"
[tasks.f]
type = "forensic"
cmd = "true"
[tasks.a]
name = "Build it"
description = "builds"
cmd = "make"
depends_on = ["up"]
working_dir = "./src"
env = { MODE = "fast", lower_ok = "{{.x}}" }
clean_env = true
if = "mode == 1"
register = "result"
ignore_failure = true
retries = 3
retry_delay = "1m30s"
retry_backoff = 2
retry_max_delay = 600
timeout = "0.5h"
kill_grace = "250ms"
on_failure = "f"
"""
    task = parse_workflow_text(text, name="flow").tasks["a"]
    assert task.to_dict() == {
        "id": "a",
        "name": "Build it",
        "description": "builds",
        "type": "normal",
        "cmd": "make",
        "depends_on": ["up"],
        "working_dir": "./src",
        "env": {"MODE": "fast", "lower_ok": "{{.x}}"},
        "clean_env": True,
        "if": "mode == 1",
        "matrix": {},
        "register": "result",
        "ignore_failure": True,
        "retries": 3,
        "retry_delay": 90.0,
        "retry_backoff": 2.0,
        "retry_max_delay": 600.0,
        "timeout": 1800.0,
        "kill_grace": 0.25,
        "on_failure": "f",
    }


def test_timeout_zero_means_none() -> None:
    task = parse_workflow_text('[tasks.a]\ncmd = "x"\ntimeout = 0\n', name="flow").tasks["a"]
    assert task.timeout is None


def test_tasks_keep_file_order() -> None:
    definition = parse_workflow_text(tasks(z=[], a=[], m=[]), name="flow")
    assert list(definition.tasks) == ["z", "a", "m"]


def test_to_json_shape(dag_of: DagOf) -> None:
    text = FORENSIC.replace('cmd = "make"', 'cmd = "make"\nmatrix = { env = ["dev"] }')
    text += '[tasks.ship]\ncmd = "ship"\ndepends_on = ["build"]\n'
    dag = dag_of(text)
    data = json.loads(dag.to_json())
    assert list(data) == ["name", "file_path", "total_tasks", "global_trap", "nodes"]
    assert data["global_trap"] == "page"
    assert data["total_tasks"] == 2
    first, second = data["nodes"]
    assert list(first) == ["id", "task_def", "is_expanded", "matrix_vars", "level",
                           "can_run_in_parallel"]  # fmt: skip
    assert first["id"] == "build[env=dev]"
    assert first["matrix_vars"] == {"env": "dev"}
    assert first["task_def"]["if"] == ""
    assert first["task_def"]["timeout"] is None
    assert list(second) == ["id", "task_def", "is_expanded", "dependency_ids", "level",
                            "can_run_in_parallel"]  # fmt: skip
    assert second["dependency_ids"] == ["build[env=dev]"]
    assert second["level"] == 1


def test_build_is_deterministic_across_file_orders(dag_of: DagOf) -> None:
    forward = tasks(a=[], b=["a"], c=["a"], d=["b", "c"], e=[])
    backward = tasks(e=[], d=["b", "c"], c=["a"], b=["a"], a=[])
    first, second = dag_of(forward), dag_of(backward)
    assert first.levels == second.levels
    assert first.roots == second.roots
    assert first.leaves == second.leaves
    assert {k: n.dependents for k, n in first.nodes.items()} == {
        k: n.dependents for k, n in second.nodes.items()
    }


def test_repeated_builds_serialise_identically(dag_of: DagOf) -> None:
    text = FORENSIC + tasks(x=["build"], y=["build"], z=["x", "y"])
    assert len({dag_of(text).to_json() for _ in range(5)}) == 1


def test_build_refuses_a_definition_with_errors() -> None:
    definition = WorkflowDefinition(name="flow", errors=["boom"])
    with pytest.raises(WorkflowError) as caught:
        build_dag(definition)
    assert caught.value.errors == ["boom"]


def test_build_error_message_is_the_single_build_error() -> None:
    definition = WorkflowDefinition(
        name="flow",
        tasks={
            "a": TaskDefinition(id="a", cmd="x", depends_on=["b"]),
            "b": TaskDefinition(id="b", cmd="x", depends_on=["a"]),
        },
    )
    with pytest.raises(WorkflowError) as caught:
        build_dag(definition)
    assert str(caught.value) == "circular dependency detected: a -> b -> a"
    assert caught.value.errors == ["circular dependency detected: a -> b -> a"]
    assert caught.value.definition is definition


def test_build_checks_programmatic_definitions() -> None:
    definition = WorkflowDefinition(
        name="flow",
        on_failure="nope",
        tasks={"a": TaskDefinition(id="a", cmd="x", depends_on=["ghost"])},
    )
    with pytest.raises(WorkflowError) as caught:
        build_dag(definition)
    assert caught.value.errors == [
        'global trap attachment failed: task "nope" does not exist',
        "dependency resolution failed: task a depends on undefined task ghost",
    ]


def test_building_twice_gives_independent_nodes(dag_of: DagOf) -> None:
    definition = parse_workflow_text(tasks(a=[], b=["a"]), name="flow")
    first, second = build_dag(definition), build_dag(definition)
    assert first.nodes["a"] is not second.nodes["a"]
    assert first.nodes["a"].dependents == ["b"]
    assert second.nodes["a"].dependents == ["b"]
