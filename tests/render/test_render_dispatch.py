"""``wf.dag.render.render``: one entry point for every ``wf graph`` format."""

from __future__ import annotations

import json

import pytest

from wf.dag.render import FORMATS, render, render_ascii, render_dot, render_html, render_mermaid


def test_formats_are_the_five_of_the_spec():
    assert FORMATS == ("ascii", "dot", "html", "mermaid", "json")


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_every_shape(shape, fmt):
    text = render(shape, fmt)
    assert text.endswith("\n")
    for node_id in shape.nodes:
        assert node_id in text


def test_dispatch_passes_options_through(shapes):
    dag = shapes["diamond"]()
    states = {"a": "success"}
    assert render(dag, "ascii", detail=True, width=60) == render_ascii(dag, detail=True, width=60)
    assert render(dag, "dot", states=states) == render_dot(dag, states=states)
    assert render(dag, "mermaid", states=states) == render_mermaid(dag, states=states)
    assert render(dag, "html", states=states) == render_html(dag, states=states)
    assert json.loads(render(dag, "json", states=states))["nodes"][0]["state"] == "success"


def test_unknown_format_is_rejected(shapes):
    with pytest.raises(ValueError, match="unsupported format"):
        render(shapes["chain"](), "svg")


def test_option_a_format_does_not_take_is_a_type_error(shapes):
    with pytest.raises(TypeError):
        render(shapes["chain"](), "json", highlight="a")
