"""The hand-built reference shapes used by the render tests equal what the parser builds."""

from __future__ import annotations

import pytest

SOURCES = {
    "chain": """
        name = "chain"
        [tasks.a]
        cmd = "echo a"
        [tasks.b]
        cmd = "echo b"
        depends_on = ["a"]
        [tasks.c]
        cmd = "echo c"
        depends_on = ["b"]
    """,
    "diamond": """
        name = "diamond"
        [tasks.a]
        cmd = "echo a"
        [tasks.b]
        cmd = "echo b"
        depends_on = ["a"]
        [tasks.c]
        cmd = "echo c"
        depends_on = ["a"]
        [tasks.d]
        cmd = "echo d"
        depends_on = ["b", "c"]
    """,
    "matrix": """
        name = "matrix"
        [tasks.setup]
        cmd = "echo setup"
        [tasks.test]
        cmd = "tox -e py -- --python={{.python}}"
        depends_on = ["setup"]
        matrix = { python = ["3.11", "3.12"], region = ["eu", "us"] }
        [tasks.report]
        cmd = "echo report"
        depends_on = ["test"]
    """,
    "global_trap": """
        name = "site-release"
        on_failure = "page-oncall"
        [tasks.fetch]
        cmd = "echo fetch"
        [tasks.parse]
        cmd = "echo parse"
        depends_on = ["fetch"]
        [tasks.load]
        cmd = "echo load"
        depends_on = ["fetch"]
        [tasks.page-oncall]
        type = "forensic"
        cmd = './page.sh "$WHAT"'
    """,
}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_hand_built_shape_matches_parsed_workflow(shapes, dag_from_toml, name):
    built = shapes[name]()
    parsed = dag_from_toml(SOURCES[name])
    assert built.levels == parsed.levels
    assert built.roots == parsed.roots
    assert built.leaves == parsed.leaves
    assert built.total_tasks == parsed.total_tasks
    assert built.to_dict()["nodes"] == parsed.to_dict()["nodes"]
    for node_id, node in parsed.nodes.items():
        assert built.nodes[node_id].dependents == node.dependents
        assert sorted(built.nodes[node_id].dependencies) == sorted(node.dependencies)
    assert (built.global_trap is None) == (parsed.global_trap is None)
    if parsed.global_trap is not None:
        assert built.global_trap is not None
        assert built.global_trap.id == parsed.global_trap.id
        assert built.global_trap.task.id == parsed.global_trap.task.id
