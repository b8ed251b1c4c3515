"""Pure renderers of a built DAG for ``wf graph``: ascii, dot, html, mermaid and json."""

from __future__ import annotations

import json
from typing import Any

from wf.dag.model import DAG
from wf.dag.render.analysis import critical_paths, resolve_highlight
from wf.dag.render.ascii import render_ascii
from wf.dag.render.dot import render_dot
from wf.dag.render.html import render_html
from wf.dag.render.jsondata import graph_json
from wf.dag.render.mermaid import render_mermaid

FORMATS = ("ascii", "dot", "html", "mermaid", "json")

__all__ = [
    "FORMATS",
    "critical_paths",
    "graph_json",
    "render",
    "render_ascii",
    "render_dot",
    "render_html",
    "render_mermaid",
    "resolve_highlight",
]


def render(dag: DAG, fmt: str, **opts: Any) -> str:
    """Render ``dag`` in one of ``FORMATS``, passing ``opts`` to that format's function.

    Raises ``ValueError`` for an unknown format and ``TypeError`` for an option the format
    does not take.
    """
    if fmt == "ascii":
        return render_ascii(dag, **opts)
    if fmt == "dot":
        return render_dot(dag, **opts)
    if fmt == "html":
        return render_html(dag, **opts)
    if fmt == "mermaid":
        return render_mermaid(dag, **opts)
    if fmt == "json":
        return json.dumps(graph_json(dag, **opts), indent=2, ensure_ascii=False) + "\n"
    raise ValueError(f"unsupported format: {fmt!r} (choose from {', '.join(FORMATS)})")
