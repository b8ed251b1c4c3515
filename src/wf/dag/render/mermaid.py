"""The ``wf graph`` mermaid format: a fenced ``graph TD`` block with safe node identifiers."""

from __future__ import annotations

from collections.abc import Mapping

from wf.dag.model import DAG, GLOBAL_TRAP_ID
from wf.dag.render import palette
from wf.dag.render.analysis import TASK_STATES, Highlight, is_conditional, resolve_highlight

TRAP_ID = "trap"

_ENTITIES = (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("`", "#96;"))


def label(text: str) -> str:
    """A double-quoted Mermaid label; quotes, angle brackets and backticks become entity codes."""
    for raw, code in _ENTITIES:
        text = text.replace(raw, code)
    return '"' + " ".join(text.split()) + '"'


def render_mermaid(
    dag: DAG, *, states: Mapping[str, str] | None = None, highlight: str | None = None
) -> str:
    """The DAG as a Markdown-fenced Mermaid flowchart; node IDs become ``n0``, ``n1``…

    Edges into conditional nodes carry ``|conditional|``; leaves link to the global trap with
    ``|failure|``. ``highlight`` outlines a node or task and its lineage and fades the rest.
    """
    states = states or {}
    lit = resolve_highlight(dag, highlight) if highlight else None
    order = dag.sequential_order()
    ids = {node_id: f"n{index}" for index, node_id in enumerate(order)}
    out = ["```mermaid", "graph TD"]
    for node_id in order:
        node = dag.nodes[node_id]
        text = node_id if node.task.name == node.task.id else f"{node_id} ({node.name})"
        state = states.get(node_id)
        if state:
            text += f" · {state}"
        out.append(f"    {ids[node_id]}[{label(text)}]")
    trap = dag.global_trap
    if trap is not None:
        text = f"{trap.task.id} (global trap)"
        if states.get(GLOBAL_TRAP_ID):
            text += f" · {states[GLOBAL_TRAP_ID]}"
        out.append(f"    {TRAP_ID}{{{{{label(text)}}}}}")
    for node_id in order:
        node = dag.nodes[node_id]
        arrow = "-->|conditional|" if is_conditional(node) else "-->"
        out.extend(f"    {ids[dep]} {arrow} {ids[node_id]}" for dep in node.dependencies)
    if trap is not None:
        out.extend(f"    {ids[leaf]} -->|failure| {TRAP_ID}" for leaf in dag.leaves)
    if trap is not None:
        ids = {**ids, GLOBAL_TRAP_ID: TRAP_ID}
    out.extend(_classes(ids, states, with_trap=trap is not None))
    if lit is not None:
        out.extend(_highlight_classes(ids, lit))
    out.append("```")
    return "\n".join(out) + "\n"


def _classes(ids: Mapping[str, str], states: Mapping[str, str], *, with_trap: bool) -> list[str]:
    lines: list[str] = []
    if with_trap and not states.get(GLOBAL_TRAP_ID):
        lines.append(f"    classDef trap {_style(palette.TRAP_NODE)}")
        lines.append(f"    class {TRAP_ID} trap")
    by_state: dict[str, list[str]] = {}
    for node_id, mermaid_id in ids.items():
        state = states.get(node_id)
        if state:
            key = state if state in TASK_STATES else "unknown"
            by_state.setdefault(key, []).append(mermaid_id)
    for key, members in by_state.items():
        lines.append(f"    classDef st_{key} {_style(palette.state_swatch(key))}")
        lines.append(f"    class {','.join(members)} st_{key}")
    return lines


def _style(swatch: palette.Swatch) -> str:
    return f"fill:{swatch.fill},stroke:{swatch.stroke},color:{swatch.text}"


def _highlight_classes(ids: Mapping[str, str], lit: Highlight) -> list[str]:
    groups: dict[str, list[str]] = {"target": [], "related": [], "other": []}
    for node_id, mermaid_id in ids.items():
        if node_id != GLOBAL_TRAP_ID:
            groups[lit.role(node_id)].append(mermaid_id)
    styles = {
        "target": f"stroke:{palette.HIGHLIGHT},stroke-width:4px",
        "related": f"stroke:{palette.HIGHLIGHT},stroke-width:2px",
        "other": "opacity:0.35",
    }
    lines: list[str] = []
    for role, members in groups.items():
        if members:
            lines.append(f"    classDef hl_{role} {styles[role]}")
            lines.append(f"    class {','.join(members)} hl_{role}")
    return lines
