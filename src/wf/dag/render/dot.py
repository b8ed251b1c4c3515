"""The ``wf graph`` dot format: a Graphviz digraph with one rank per level."""

from __future__ import annotations

import re
from collections.abc import Mapping

from wf.dag.model import DAG, GLOBAL_TRAP_ID, Node
from wf.dag.render import palette
from wf.dag.render.analysis import Highlight, is_conditional, resolve_highlight

_DOT_KEYWORDS = {"node", "edge", "graph", "digraph", "subgraph", "strict"}


def graph_name(name: str) -> str:
    """The workflow name as a DOT graph ID: characters outside ``[A-Za-z0-9_]`` become ``_``.

    A result that DOT would not accept bare (leading digit, keyword, empty) is quoted.
    """
    safe = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not safe or safe[0].isdigit() or safe.lower() in _DOT_KEYWORDS:
        return f'"{safe}"'
    return safe


def quote(text: str) -> str:
    """A DOT double-quoted string; backslashes are doubled so no escape sequence survives."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return f'"{escaped}"'


def _attrs(pairs: Mapping[str, str]) -> str:
    return "[" + ", ".join(f"{key}={value}" for key, value in pairs.items()) + "]"


def _tooltip(node: Node, state: str | None) -> str:
    lines = [node.id if node.name == node.id else f"{node.id} ({node.name})"]
    lines.append(f"cmd: {node.task.cmd.strip()}")
    if node.dependencies:
        lines.append("depends on: " + ", ".join(node.dependencies))
    if is_conditional(node):
        lines.append(f"if: {node.task.condition.strip()}")
    if state:
        lines.append(f"state: {state}")
    return "\n".join(lines)


def _node_attrs(node: Node, state: str | None, lit: Highlight | None) -> dict[str, str]:
    label = node.id if node.task.name == node.task.id else f"{node.id}\n{node.name}"
    swatch = palette.MATRIX_NODE if node.is_expanded else palette.DEFAULT_NODE
    if state:
        swatch = palette.state_swatch(state)
        label += f"\n{state}"
    styles = ["rounded", "filled"]
    if is_conditional(node):
        styles.append("dashed")
    attrs = {
        "label": quote(label),
        "tooltip": quote(_tooltip(node, state)),
        "fillcolor": quote(swatch.fill),
        "color": quote(swatch.stroke),
        "fontcolor": quote(swatch.text),
        "style": quote(",".join(styles)),
    }
    if lit is not None:
        role = lit.role(node.id)
        if role == "target":
            attrs.update(color=quote(palette.HIGHLIGHT), penwidth="3")
        elif role == "related":
            attrs.update(color=quote(palette.HIGHLIGHT), penwidth="1.8")
        else:
            attrs.update(color=quote(palette.FADED), fontcolor=quote(palette.FADED))
    return attrs


def render_dot(
    dag: DAG, *, states: Mapping[str, str] | None = None, highlight: str | None = None
) -> str:
    """The DAG as Graphviz DOT text, left to right, coloured by ``states`` when given.

    Edges into conditional nodes are dashed; dotted edges run from the leaves to the global trap.
    """
    states = states or {}
    lit = resolve_highlight(dag, highlight) if highlight else None
    out = [
        f"digraph {graph_name(dag.name)} {{",
        "  rankdir=LR;",
        f"  graph [tooltip={quote(dag.name)}, fontname=Helvetica, nodesep=0.25, ranksep=0.6];",
        "  node [shape=box, fontname=Helvetica, fontsize=11];",
        f"  edge [color={quote(palette.EDGE)}, arrowsize=0.7];",
    ]
    for index, level in enumerate(dag.levels):
        members = " ".join(f"{quote(node_id)};" for node_id in level)
        out.append(f"  {{ rank=same; /* level {index} */ {members} }}")
    for node_id in dag.sequential_order():
        node = dag.nodes[node_id]
        out.append(f"  {quote(node_id)} {_attrs(_node_attrs(node, states.get(node_id), lit))};")
    for node_id in dag.sequential_order():
        node = dag.nodes[node_id]
        for dep in node.dependencies:
            attrs: dict[str, str] = {}
            if is_conditional(node):
                attrs["style"] = "dashed"
            if lit is not None:
                on_path = lit.role(dep) != "other" and lit.role(node_id) != "other"
                attrs["color"] = quote(palette.HIGHLIGHT if on_path else palette.FADED)
            suffix = f" {_attrs(attrs)}" if attrs else ""
            out.append(f"  {quote(dep)} -> {quote(node_id)}{suffix};")
    if dag.global_trap is not None:
        out.extend(_trap_lines(dag, dag.global_trap, states.get(GLOBAL_TRAP_ID)))
    out.append("}")
    return "\n".join(out) + "\n"


def _trap_lines(dag: DAG, trap: Node, state: str | None) -> list[str]:
    swatch = palette.state_swatch(state) if state else palette.TRAP_NODE
    label = f"{trap.task.id}\n(global trap)" + (f"\n{state}" if state else "")
    attrs = {
        "label": quote(label),
        "tooltip": quote(f"global failure trap: {trap.task.id}\ncmd: {trap.task.cmd.strip()}"),
        "shape": "octagon",
        "style": "filled",
        "fillcolor": quote(swatch.fill),
        "color": quote(swatch.stroke),
        "fontcolor": quote(swatch.text),
    }
    lines = [f"  {quote(trap.id)} {_attrs(attrs)};"]
    edge = _attrs({"style": "dotted", "color": quote(palette.FAILURE_EDGE)})
    lines.extend(f"  {quote(leaf)} -> {quote(trap.id)} {edge};" for leaf in dag.leaves)
    return lines
