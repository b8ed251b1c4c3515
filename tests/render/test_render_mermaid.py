"""The mermaid graph: fence, safe identifiers, conditional and failure edges, states."""

from __future__ import annotations

import re

from wf.dag.render import render_mermaid
from wf.dag.render.mermaid import label


def ids_by_label(text: str) -> dict[str, str]:
    return {m[2]: m[1] for m in re.finditer(r'^    (n\d+)\["([^"]*)"\]$', text, re.MULTILINE)}


def test_is_a_fenced_graph_td_block(shape):
    lines = render_mermaid(shape).splitlines()
    assert lines[0] == "```mermaid"
    assert lines[1] == "graph TD"
    assert lines[-1] == "```"


def test_every_node_and_edge_is_present_with_safe_ids(shape):
    text = render_mermaid(shape)
    ids = ids_by_label(text)
    assert set(ids) == set(shape.nodes)
    assert all(re.fullmatch(r"n\d+", mermaid_id) for mermaid_id in ids.values())
    for node_id, node in shape.nodes.items():
        for dep in node.dependencies:
            assert re.search(rf"^    {ids[dep]} -->(\|conditional\|)? {ids[node_id]}$", text, re.M)
    edge_lines = [line for line in text.splitlines() if "-->" in line and "failure" not in line]
    assert len(edge_lines) == sum(len(node.dependencies) for node in shape.nodes.values())


def test_matrix_ids_are_labels_not_identifiers(shapes):
    text = render_mermaid(shapes["matrix"]())
    assert 'n1["test[python=3.11,region=eu]"]' in text
    assert "test[python" not in "".join(re.findall(r"^    (\S+) -->", text, re.M))


def test_edges_into_conditional_nodes_are_labelled(shapes):
    text = render_mermaid(shapes["conditional"]())
    ids = ids_by_label(text)
    assert f"{ids['check']} -->|conditional| {ids['publish']}" in text
    assert f"{ids['publish']} --> {ids['notify']}" in text


def test_leaves_link_to_the_global_trap_with_failure_edges(shapes):
    text = render_mermaid(shapes["global_trap"]())
    ids = ids_by_label(text)
    assert 'trap{{"page-oncall (global trap)"}}' in text
    assert f"{ids['load']} -->|failure| trap" in text
    assert f"{ids['parse']} -->|failure| trap" in text
    assert f"{ids['fetch']} -->|failure|" not in text


def test_labels_escape_quotes_and_markup():
    assert (
        label('say "hi" <b>#1</b> `x`') == '"say #quot;hi#quot; #lt;b#gt;#35;1#lt;/b#gt; #96;x#96;"'
    )
    assert label("two\nlines") == '"two lines"'


def test_display_name_is_shown_beside_the_id(make_dag):
    text = render_mermaid(make_dag({"b": {"name": 'Build "site"'}}))
    assert 'n0["b (Build #quot;site#quot;)"]' in text


def test_states_become_class_definitions(shapes):
    text = render_mermaid(
        shapes["diamond"](), states={"a": "success", "b": "failed", "c": "success"}
    )
    ids = ids_by_label(text.replace(" · success", "").replace(" · failed", ""))
    assert "classDef st_success fill:#dcfce7" in text
    assert f"class {ids['a']},{ids['c']} st_success" in text
    assert f"class {ids['b']} st_failed" in text
    assert '["a · success"]' in text


def test_global_trap_state_replaces_the_trap_class(shapes):
    text = render_mermaid(shapes["global_trap"](), states={"__GLOBAL_FAILURE_TRAP__": "failed"})
    assert 'trap{{"page-oncall (global trap) · failed"}}' in text
    assert "class trap st_failed" in text
    assert "class trap trap" not in text


def test_highlight_outlines_lineage_and_fades_the_rest(shapes):
    text = render_mermaid(shapes["diamond"](), highlight="b")
    ids = ids_by_label(text)
    assert f"class {ids['b']} hl_target" in text
    assert f"class {ids['a']},{ids['d']} hl_related" in text
    assert f"class {ids['c']} hl_other" in text
