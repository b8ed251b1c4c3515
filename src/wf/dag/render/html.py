"""The ``wf graph`` html format: one self-contained page with an inline SVG drawn by wf."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from wf.dag.duration import format_duration
from wf.dag.model import DAG, GLOBAL_TRAP_ID, Node
from wf.dag.render import palette
from wf.dag.render._html_assets import SCRIPT, STYLE
from wf.dag.render._text import first_line
from wf.dag.render.analysis import (
    STATE_ICONS,
    TASK_STATES,
    is_conditional,
    node_kind,
    resolve_highlight,
    state_icon,
)
from wf.dag.render.layout import NODE_HEIGHT, NODE_WIDTH, Box, edge_path, layout_dag, num

_ID_CHARS = 24
_SUB_CHARS = 27
# Forbids every fetch: the page must work offline and must not phone home (docs/cli.md#wf-graph).
_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _state_class(state: str) -> str:
    return f"st-{state}" if state in TASK_STATES else "st-unknown"


def _state_css() -> str:
    rules = []
    for state in (*TASK_STATES, "unknown"):
        swatch = palette.state_swatch(state)
        rules.append(
            f".node.st-{state} rect {{ fill: {swatch.fill}; stroke: {swatch.stroke}; }}\n"
            f".sw.st-{state} {{ background: {swatch.fill}; border-color: {swatch.stroke}; }}"
        )
    matrix = palette.MATRIX_NODE
    rules.append(f".sw.matrix {{ background: {matrix.fill}; border-color: {matrix.stroke}; }}")
    return "\n".join(rules)


def _node_data(node: Node, index: dict[str, int], state: str | None) -> dict[str, Any]:
    task = node.task
    item: dict[str, Any] = {
        "id": node.id,
        "name": node.name,
        "level": node.level,
        "cmd": task.cmd,
        "deps": [index[d] for d in node.dependencies],
        "dependents": [index[d] for d in node.dependents],
        "condition": task.condition.strip(),
        "matrix": ", ".join(f"{k}={v}" for k, v in sorted(node.matrix_vars.items())),
        "retries": str(task.retries) if task.retries else "",
        "timeout": format_duration(task.timeout) if task.timeout else "",
        "on_failure": task.on_failure,
        "description": task.description.strip(),
    }
    if state:
        item["state"] = f"{state_icon(state)} {state}"
    return item


def _script_json(data: object) -> str:
    """JSON that cannot end its ``<script>`` element or open a comment, whatever the strings."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for raw, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(raw, code)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _node_svg(node: Node, box: Box, key: str, state: str | None, trap: bool = False) -> str:
    classes = ["node", "trap"] if trap else ["node", f"k-{node_kind(node)}"]
    if node.is_expanded:
        classes.append("matrix")
    if is_conditional(node):
        classes.append("cond")
    if trap:
        sub = "global trap · on failure"
    elif node.is_expanded:
        sub = " ".join(f"{k}={v}" for k, v in sorted(node.matrix_vars.items()))
    elif node.task.name != node.task.id:
        sub = node.name
    else:
        sub = first_line(node.task.cmd)[0]
    if state:
        classes.append(_state_class(state))
        detail = sub if node.is_expanded or trap else ""
        sub = f"{state_icon(state)} {state}" + (f" · {detail}" if detail else "")
    title = node.task.id if trap else node.id
    name = node.task.name if trap else node.name
    spoken = title if node.task.name == node.task.id else f"{title} ({name})"
    if state:
        spoken += f", {state}"
    if len(title) > _ID_CHARS and node.is_expanded:
        title = _cut(node.task.id, _ID_CHARS - 3) + "[…]"
    return (
        f'<g class="{" ".join(classes)}" data-i="{key}" '
        f'transform="translate({num(box.x)},{num(box.y)})" aria-label="{escape(spoken)}">'
        f'<rect width="{NODE_WIDTH}" height="{NODE_HEIGHT}" rx="8"/>'
        f'<text class="nid" x="12" y="19">{escape(_cut(title, _ID_CHARS))}</text>'
        f'<text class="sub" x="12" y="36">{escape(_cut(sub, _SUB_CHARS))}</text></g>'
    )


def _legend(dag: DAG, states: Mapping[str, str]) -> str:
    items = []
    if any(node.is_expanded for node in dag.nodes.values()):
        items.append('<span><i class="sw matrix"></i>matrix expansion</span>')
    if any(is_conditional(node) for node in dag.nodes.values()):
        items.append('<span><i class="ln cond"></i>into a conditional task</span>')
    if dag.global_trap is not None:
        items.append('<span><i class="ln failure"></i>on failure → global trap</span>')
    shown = [s for n, s in states.items() if s and (n in dag.nodes or n == GLOBAL_TRAP_ID)]
    present = set(shown)
    for state in (*TASK_STATES, *sorted(present - set(TASK_STATES))):
        if state in present:
            count = shown.count(state)
            icon = STATE_ICONS.get(state, "?")
            items.append(
                f'<span><i class="sw {_state_class(state)}"></i>'
                f"{escape(icon)} {escape(state)} ({count})</span>"
            )
    return f'<div class="legend">{"".join(items)}</div>' if items else ""


def graph_stylesheet() -> str:
    """The page's stylesheet, state colours included: static text, the same for every graph."""
    return f"{STYLE}\n{_state_css()}\n"


def graph_script() -> str:
    """The page's script (pan, zoom, hover details, lineage): static text, no data."""
    return SCRIPT


def render_html(
    dag: DAG,
    *,
    states: Mapping[str, str] | None = None,
    highlight: str | None = None,
    stylesheets: Sequence[str] = (),
    scripts: Sequence[str] = (),
) -> str:
    """A single offline HTML page: SVG laid out by wf, with pan, zoom, hover details and
    click-to-trace lineage. Every value from the workflow is escaped; nothing is fetched.

    ``highlight`` pre-selects a node or task as if it had been clicked. With ``stylesheets``
    and ``scripts`` (URLs), the page links them instead of inlining ``graph_stylesheet()`` and
    ``graph_script()``: the web UI serves those files, so that its ``default-src 'self'`` policy
    holds; the page then carries no policy of its own (the server sends it).
    """
    states = states or {}
    lit = resolve_highlight(dag, highlight) if highlight else None
    grid = layout_dag(dag)
    order = dag.sequential_order()
    index = {node_id: i for i, node_id in enumerate(order)}
    parts: list[str] = []
    for level, x in enumerate(grid.columns):
        parts.append(f'<text class="col-label" x="{num(x + 2)}" y="34">LEVEL {level}</text>')
    for node_id in order:
        node = dag.nodes[node_id]
        end = grid.boxes[node_id].left
        cls = "edge cond" if is_conditional(node) else "edge"
        for dep in node.dependencies:
            path = edge_path(grid.boxes[dep].right, (end[0] - 2, end[1]))
            parts.append(
                f'<path class="{cls}" data-s="{index[dep]}" data-t="{index[node_id]}" d="{path}"/>'
            )
    trap_data: dict[str, Any] | None = None
    if dag.global_trap is not None and grid.trap is not None:
        trap, box = dag.global_trap, grid.trap
        for leaf in dag.leaves:
            path = edge_path(grid.boxes[leaf].right, (box.left[0] - 2, box.left[1]))
            parts.append(
                f'<path class="edge failure" data-s="{index[leaf]}" data-t="trap" d="{path}"/>'
            )
        trap_state = states.get(GLOBAL_TRAP_ID)
        parts.append(_node_svg(trap, box, "trap", trap_state, trap=True))
        trap_data = {
            "id": trap.task.id,
            "name": trap.task.name,
            "cmd": trap.task.cmd,
            "description": "global failure trap: runs once when the run fails",
        }
        if trap_state:
            trap_data["state"] = f"{state_icon(trap_state)} {trap_state}"
    for node_id in order:
        node = dag.nodes[node_id]
        parts.append(_node_svg(node, grid.boxes[node_id], str(index[node_id]), states.get(node_id)))
    data = {
        "width": grid.width,
        "height": grid.height,
        "nodes": [_node_data(dag.nodes[n], index, states.get(n)) for n in order],
        "trap": trap_data,
        "highlight": sorted(index[n] for n in lit.targets) if lit is not None else [],
    }
    meta = [f"{dag.total_tasks or len(dag.nodes)} tasks", f"{len(dag.levels)} levels"]
    if dag.global_trap is not None:
        meta.append(f"global trap: {dag.global_trap.task.id}")
    name = escape(dag.name)
    description = (
        f'<p class="desc">{escape(dag.description.strip())}</p>' if dag.description else ""
    )
    if stylesheets or scripts:
        policy = ""
        style = "".join(f'<link rel="stylesheet" href="{escape(url)}">\n' for url in stylesheets)
        script = "".join(f'<script src="{escape(url)}"></script>\n' for url in scripts)
    else:
        policy = f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        style = f"<style>{graph_stylesheet()}</style>\n"
        script = f"<script>{SCRIPT}</script>\n"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{policy}<meta name="generator" content="wf graph">
<title>{name} · wf graph</title>
{style}</head>
<body>
<header>
<h1>{name}</h1>
<p class="meta">{escape(" · ".join(meta))}</p>
{description}
{_legend(dag, states)}
<div class="tools">
<input id="find" type="search" placeholder="Find a task…" aria-label="Find a task">
<button id="fit" type="button" title="Fit to window (F)">Fit</button></div>
</header>
<main>
<svg id="graph" role="img" aria-label="{name} task graph">
<defs>
<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" \
orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{palette.EDGE}"/></marker>
<marker id="arrow-lit" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" \
orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{palette.HIGHLIGHT}"/></marker>
<marker id="arrow-fail" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" \
orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{palette.FAILURE_EDGE}"/></marker>
</defs>
<g id="viewport">
{chr(10).join(parts)}
</g>
</svg>
<div id="tip" hidden></div>
</main>
<footer>Drag to pan · scroll to zoom · hover a task for details · click a task to trace its \
ancestors and descendants · Esc clears · F fits</footer>
<script type="application/json" id="wf-data">{_script_json(data)}</script>
{script}</body>
</html>
"""
