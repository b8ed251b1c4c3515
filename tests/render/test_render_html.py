"""The html graph: one offline file, escaped content, columns per level, states, scale."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from html.parser import HTMLParser

import pytest

from wf.dag.render import render_html

HOSTILE = "</script><script>alert(1)</script>"


class Collector(HTMLParser):
    """Tags with their attributes, and the text of each script element."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def parse(text: str) -> Collector:
    collector = Collector()
    collector.feed(text)
    collector.close()
    return collector


def embedded_data(text: str) -> dict:
    match = re.search(r'<script type="application/json" id="wf-data">(.*?)</script>', text, re.S)
    assert match is not None
    return json.loads(match[1])


def test_file_references_no_external_resource(shape):
    text = render_html(shape, states=dict.fromkeys(shape.nodes, "success"))
    lowered = text.lower()
    assert "http://" not in lowered
    assert "https://" not in lowered
    assert "//cdn" not in lowered
    assert "@import" not in lowered
    assert "@font-face" not in lowered
    assert re.findall(r"url\((?!#)", lowered) == []
    for tag, attrs in parse(text).tags:
        assert tag not in {"link", "img", "iframe", "object", "embed", "base"}
        assert "src" not in attrs, tag
        assert "href" not in attrs, tag
        assert "xlink:href" not in attrs, tag


def test_page_is_one_document_with_inline_svg_css_and_script(shapes):
    text = render_html(shapes["diamond"]())
    assert text.startswith("<!DOCTYPE html>")
    assert text.count("<svg") == 1
    assert text.count("<style>") == 1
    assert text.count("<script") == 2
    assert "Content-Security-Policy" in text
    assert "default-src 'none'" in text


def test_hostile_command_and_names_are_escaped(make_dag):
    dag = make_dag(
        {
            "a": {"cmd": f"echo {HOSTILE} && echo \"q\" 'x' & done"},
            "b": {"depends_on": ["a"], "name": '<img src=x onerror="alert(2)">'},
        },
        name="evil",
        description="<b>bold</b> & </style>",
    )
    text = render_html(dag)
    assert HOSTILE not in text
    assert "<img" not in text
    assert "<b>bold" not in text
    assert text.count("</script>") == 2
    assert text.count("</style>") == 1
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in text
    collector = parse(text)
    assert len(collector.scripts) == 2
    data = embedded_data(text)
    assert data["nodes"][0]["cmd"] == f"echo {HOSTILE} && echo \"q\" 'x' & done"
    assert data["nodes"][1]["name"] == '<img src=x onerror="alert(2)">'


def test_every_node_is_drawn_once_and_every_edge_is_a_path(shape):
    text = render_html(shape)
    drawn = re.findall(r'<g class="node [^"]*" data-i="(\d+)"', text)
    assert len(drawn) == len(shape.nodes)
    labels = re.findall(r'<g class="node [^"]*" data-i="\d+" [^>]*aria-label="([^"]*)"', text)
    assert labels == shape.sequential_order()
    edges = re.findall(r'<path class="edge[^"]*" data-s="(\d+)" data-t="(\d+)"', text)
    assert len(edges) == sum(len(node.dependencies) for node in shape.nodes.values())


def test_each_level_is_one_column_left_to_right(shapes):
    dag = shapes["fan_out_in"]()
    text = render_html(dag)
    order = dag.sequential_order()
    xs: dict[str, float] = {}
    for index, x in re.findall(r'data-i="(\d+)" transform="translate\(([\d.]+),', text):
        xs[order[int(index)]] = float(x)
    columns = [{xs[node_id] for node_id in level} for level in dag.levels]
    assert all(len(column) == 1 for column in columns)
    assert [c.pop() for c in columns] == sorted(xs[level[0]] for level in dag.levels)


def test_conditional_and_failure_edges_are_styled(shapes):
    conditional = render_html(shapes["conditional"]())
    assert conditional.count('<path class="edge cond"') == 1
    trap = render_html(shapes["global_trap"]())
    assert trap.count('<path class="edge failure"') == 2
    assert 'data-i="trap"' in trap
    assert "page-oncall" in trap


def test_states_colour_nodes_and_fill_the_legend(shapes):
    dag = shapes["diamond"]()
    text = render_html(dag, states={"a": "success", "b": "failed", "c": "success"})
    assert re.search(r'<g class="node [^"]*st-success[^"]*" data-i="0"', text)
    assert re.search(r'<g class="node [^"]*st-failed[^"]*" data-i="1"', text)
    assert not re.search(r'<g class="node [^"]*st-[^"]*" data-i="3"', text)
    assert '<i class="sw st-success"></i>✓ success (2)' in text
    assert '<i class="sw st-failed"></i>✗ failed (1)' in text
    assert ".node.st-success rect { fill: #dcfce7" in text
    assert embedded_data(text)["nodes"][0]["state"] == "✓ success"


def test_without_states_no_state_legend(shapes):
    text = render_html(shapes["chain"]())
    assert 'class="sw st-' not in text
    assert "state" not in embedded_data(text)["nodes"][0]


def test_embedded_data_lists_dependencies_by_index(shapes):
    data = embedded_data(render_html(shapes["diamond"]()))
    assert [node["id"] for node in data["nodes"]] == ["a", "b", "c", "d"]
    assert data["nodes"][3]["deps"] == [1, 2]
    assert data["nodes"][0]["dependents"] == [1, 2]
    assert data["width"] > 0
    assert data["height"] > 0


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_inline_script_is_valid_javascript(shapes, tmp_path):
    script = parse(render_html(shapes["matrix"]())).scripts[1]
    path = tmp_path / "graph.js"
    path.write_text(script, encoding="utf-8")
    result = subprocess.run(
        ["node", "--check", str(path)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr


def test_thousand_node_dag_renders_quickly(make_layered):
    dag = make_layered(levels=10, width=100)
    started = time.perf_counter()
    text = render_html(dag, states=dict.fromkeys(dag.nodes, "success"))
    assert time.perf_counter() - started < 5
    assert len(re.findall(r'<g class="node ', text)) == 1000
    assert len(text) < 2_000_000


def test_global_trap_state_colours_the_trap_and_counts_in_the_legend(shapes):
    states = {"fetch": "failed", "__GLOBAL_FAILURE_TRAP__": "success", "not-a-node": "success"}
    text = render_html(shapes["global_trap"](), states=states)
    assert re.search(r'<g class="node trap st-success" data-i="trap"', text)
    assert "✓ success · global trap" in text
    assert "✓ success (1)" in text
    assert embedded_data(text)["trap"]["state"] == "✓ success"


def test_highlight_preselects_every_expansion_of_a_task(shapes):
    data = embedded_data(render_html(shapes["matrix"](), highlight="test"))
    assert data["highlight"] == [1, 2, 3, 4]
    assert embedded_data(render_html(shapes["matrix"]()))["highlight"] == []
