"""Large workflows build correctly; no recursion limits (timings live in the benchmarks)."""

from __future__ import annotations

import pytest

from wf.dag import WorkflowError, build_dag, parse_workflow_text


def layered(layers: int, width: int) -> str:
    """Each task depends on 3 tasks of the previous layer."""
    lines = []
    for layer in range(layers):
        for index in range(width):
            lines += [f"[tasks.t{layer:03d}_{index:03d}]", 'cmd = "true"']
            if layer:
                deps = [f'"t{layer - 1:03d}_{(index + k) % width:03d}"' for k in range(3)]
                lines.append(f"depends_on = [{', '.join(deps)}]")
    return "\n".join(lines) + "\n"


def chain(length: int) -> list[str]:
    lines = ['[tasks.n00000]\ncmd = "true"\n']
    lines += [
        f'[tasks.n{i:05d}]\ncmd = "true"\ndepends_on = ["n{i - 1:05d}"]\n' for i in range(1, length)
    ]
    return lines


def test_layered_workflow_of_two_thousand_tasks() -> None:
    dag = build_dag(parse_workflow_text(layered(40, 50), name="big"))
    assert dag.total_tasks == 2_000
    assert len(dag.levels) == 40
    assert all(len(level) == 50 for level in dag.levels)
    assert dag.nodes["t030_000"].dependencies == ["t029_000", "t029_001", "t029_002"]
    assert dag.nodes["t029_000"].dependents == ["t030_000", "t030_048", "t030_049"]


def test_long_chain_levels_without_recursion() -> None:
    dag = build_dag(parse_workflow_text("".join(chain(5000)), name="chain"))
    assert len(dag.levels) == 5000
    assert dag.leaves == ["n04999"]


def test_cycle_closing_a_long_chain_is_reported_in_full() -> None:
    lines = chain(5000)
    lines[0] = '[tasks.n00000]\ncmd = "true"\ndepends_on = ["n04999"]\n'
    with pytest.raises(WorkflowError) as caught:
        parse_workflow_text("".join(lines), name="loop")
    [message] = caught.value.errors
    path = message.removeprefix("circular dependency detected: ").split(" -> ")
    assert len(path) == 5001
    assert path[0] == path[-1] == "n00000"
