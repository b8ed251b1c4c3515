"""The dot graph: name, ranks, quoting, conditional and failure edges, states, highlight."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from wf.dag.render import render_dot
from wf.dag.render.dot import graph_name, quote
from wf.errors import UsageError

EDGE = re.compile(r'^  ("(?:[^"\\]|\\.)*") -> ("(?:[^"\\]|\\.)*")(?: \[(.*)\])?;$')
NODE = re.compile(r'^  ("(?:[^"\\]|\\.)*") \[(.*)\];$')


def edges(text: str) -> dict[tuple[str, str], str]:
    found = {}
    for line in text.splitlines():
        match = EDGE.match(line)
        if match:
            found[(match[1].strip('"'), match[2].strip('"'))] = match[3] or ""
    return found


def nodes(text: str) -> dict[str, str]:
    return {
        m[1].strip('"'): m[2] for line in text.splitlines() if (m := NODE.match(line)) is not None
    }


def test_structure_is_balanced_and_complete(shape):
    text = render_dot(shape)
    assert text.count("{") == text.count("}")
    assert text.startswith("digraph ")
    assert text.rstrip().endswith("}")
    assert "rankdir=LR;" in text
    assert set(nodes(text)) - {"__GLOBAL_FAILURE_TRAP__"} == set(shape.nodes)
    expected = {(dep, n) for n, node in shape.nodes.items() for dep in node.dependencies}
    assert {e for e in edges(text) if e[1] != "__GLOBAL_FAILURE_TRAP__"} == expected


def test_one_rank_same_group_per_level(shape):
    text = render_dot(shape)
    groups = [line for line in text.splitlines() if "rank=same" in line]
    assert len(groups) == len(shape.levels)
    for group, level in zip(groups, shape.levels, strict=True):
        assert re.findall(r'"([^"]+)";', group) == level


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("site-release", "site_release"),
        ("etl_pipeline", "etl_pipeline"),
        ("2024-report", '"2024_report"'),
        ("graph", '"graph"'),
    ],
)
def test_graph_name_replaces_unsafe_characters(name, expected):
    assert graph_name(name) == expected


def test_digraph_line_uses_sanitised_name(shapes):
    assert render_dot(shapes["fan_out_in"]()).startswith("digraph fan_out_in {\n")


def test_matrix_ids_are_quoted(shapes):
    text = render_dot(shapes["matrix"]())
    assert '"setup" -> "test[python=3.11,region=eu]";' in text
    assert '"test[python=3.12,region=us]" -> "report";' in text


def test_edges_into_conditional_nodes_are_dashed(shapes):
    found = edges(render_dot(shapes["conditional"]()))
    assert "style=dashed" in found[("check", "publish")]
    assert "dashed" not in found[("publish", "notify")]


def test_dotted_edges_run_from_every_leaf_to_the_global_trap(shapes):
    dag = shapes["global_trap"]()
    text = render_dot(dag)
    found = edges(text)
    trap_edges = {src for (src, dst) in found if dst == "__GLOBAL_FAILURE_TRAP__"}
    assert trap_edges == set(dag.leaves) == {"load", "parse"}
    assert all("style=dotted" in found[(leaf, "__GLOBAL_FAILURE_TRAP__")] for leaf in dag.leaves)
    assert 'label="page-oncall\\n(global trap)"' in nodes(text)["__GLOBAL_FAILURE_TRAP__"]


def test_no_trap_no_dotted_edges(shapes):
    assert "dotted" not in render_dot(shapes["diamond"]())


def test_nodes_have_label_and_tooltip_with_command(shapes):
    attrs = nodes(render_dot(shapes["conditional"]()))["publish"]
    assert 'label="publish"' in attrs
    assert "tooltip=" in attrs
    assert "cmd: echo publish" in attrs
    assert 'if: broken == 0 && channel != \\"dry\\"' in attrs


def test_quote_escapes_quotes_backslashes_and_newlines():
    assert quote('say "hi"\\n\nnext') == '"say \\"hi\\"\\\\n\\nnext"'


def test_hostile_text_cannot_break_out_of_a_string(make_dag):
    dag = make_dag({"a": {"cmd": 'echo "}"; digraph x { \\"', "name": 'A "quoted" \\ name'}})
    text = render_dot(dag)
    unescaped = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    assert unescaped.count("{") == unescaped.count("}")
    assert "digraph x" not in unescaped


def test_states_fill_nodes_and_appear_in_labels(shapes):
    text = render_dot(shapes["chain"](), states={"a": "success", "b": "failed"})
    found = nodes(text)
    assert 'fillcolor="#dcfce7"' in found["a"]
    assert 'label="a\\nsuccess"' in found["a"]
    assert 'fillcolor="#fee2e2"' in found["b"]
    assert "success" not in found["c"]


def test_highlight_emphasises_lineage_and_fades_the_rest(shapes):
    text = render_dot(shapes["diamond"](), highlight="b")
    found = nodes(text)
    assert "penwidth=3" in found["b"]
    assert "penwidth=1.8" in found["a"]
    assert "penwidth=1.8" in found["d"]
    assert 'color="#cbd5e1"' in found["c"]
    assert 'color="#c026d3"' in edges(text)[("a", "b")]
    assert 'color="#cbd5e1"' in edges(text)[("a", "c")]


def test_highlight_of_unknown_task_raises(shapes):
    with pytest.raises(UsageError):
        render_dot(shapes["chain"](), highlight="zzz")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graphviz_accepts_the_output(shape):
    text = render_dot(shape, states=dict.fromkeys(shape.nodes, "success"))
    result = subprocess.run(
        ["dot", "-Tsvg"], input=text, capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr


def test_global_trap_is_coloured_by_its_state(shapes):
    text = render_dot(shapes["global_trap"](), states={"__GLOBAL_FAILURE_TRAP__": "success"})
    trap = nodes(text)["__GLOBAL_FAILURE_TRAP__"]
    assert 'fillcolor="#dcfce7"' in trap
    assert 'label="page-oncall\\n(global trap)\\nsuccess"' in trap
