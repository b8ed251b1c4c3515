"""The ``wf graph`` ascii format: header box, levels, critical paths and optional sections."""

from __future__ import annotations

from collections.abc import Mapping

from wf.dag.model import DAG, GLOBAL_TRAP_ID, Node
from wf.dag.render import ascii_sections
from wf.dag.render._text import BOLD, CYAN, DIM, MAGENTA, STATE_COLOURS, Pen, wrap_items
from wf.dag.render.analysis import (
    KIND_LEAF,
    KIND_MATRIX,
    KIND_OTHER,
    KIND_ROOT,
    Highlight,
    compact_dependencies,
    critical_paths,
    expansion_counts,
    is_conditional,
    node_kind,
    resolve_highlight,
    state_icon,
)

_MAX_LABEL_COLUMN = 32
_MIN_WIDTH = 40


def render_ascii(
    dag: DAG,
    *,
    detail: bool = False,
    stats: bool = False,
    matrix: bool = False,
    forensic: bool = False,
    triggers: bool = False,
    highlight: str | None = None,
    states: Mapping[str, str] | None = None,
    colour: bool = False,
    unicode: bool = True,
    width: int = 80,
) -> str:
    """The DAG as terminal text no wider than ``width`` (except for very long node IDs).

    ``highlight`` names a node or task to emphasise with its ancestors and descendants (raises
    ``UsageError`` when unknown); ``states`` maps node IDs to task states for ``--run``.
    """
    pen = Pen(colour=colour, unicode=unicode)
    width = max(width, _MIN_WIDTH)
    states = states or {}
    lit = resolve_highlight(dag, highlight) if highlight else None
    paths = critical_paths(dag)
    out = _header(dag, pen, width, lit, states)
    out += ["", *_section("Execution Levels", pen)]
    out += _levels(dag, pen, width, lit, states)
    out += ["", *_section("Critical Path(s)", pen)]
    out += _critical(paths, pen, width)
    if forensic:
        out += ["", *_section("Forensic Tasks", pen)]
        out += ascii_sections.forensic_lines(dag, pen, width)
    if detail:
        out += ["", *_section("Details", pen)]
        out += ascii_sections.detail_lines(dag, pen, width, states)
    if stats:
        out += ["", *_section("Statistics", pen)]
        out += ascii_sections.statistics_lines(dag, pen, paths)
    if matrix:
        out += ["", *_section("Matrix Nodes", pen)]
        out += ascii_sections.matrix_lines(dag, pen, width)
    if triggers:
        out += ["", *_section("Triggers (not executed by wf)", pen)]
        out += ascii_sections.trigger_lines(dag, pen, width)
    out += ["", _legend(pen, width, highlighted=lit is not None)]
    return "\n".join(out) + "\n"


def _section(title: str, pen: Pen) -> list[str]:
    """A bold title over a rule of the same length."""
    return [pen.paint(title, BOLD), pen.paint(pen.sym("rule") * len(title), DIM)]


def _header(
    dag: DAG, pen: Pen, width: int, lit: Highlight | None, states: Mapping[str, str]
) -> list[str]:
    sep = f"   {pen.sym('sep')}   " if pen.unicode else "   "
    rows = [
        f"Workflow: {dag.name}",
        f"Tasks: {dag.total_tasks or len(dag.nodes)}{sep}Levels: {len(dag.levels)}",
    ]
    if dag.description:
        rows.append(dag.description.strip().splitlines()[0])
    if dag.global_trap is not None:
        trap_state = states.get(GLOBAL_TRAP_ID, "")
        suffix = f"  {_state_text(trap_state, pen)}" if trap_state else ""
        rows.append(f"Global trap: {dag.global_trap.task.id}{suffix}")
    if lit is not None:
        rows.append(
            f"Highlight: {lit.task} ({_count(len(lit.ancestors), 'ancestor')}, "
            f"{_count(len(lit.descendants), 'descendant')})"
        )
    inner = min(max(len(row) for row in rows), width - 4)
    tl, tr, bl, br, horizontal, vertical = list(pen.sym("box"))
    border = horizontal * (inner + 2)
    lines = [pen.paint(tl + border + tr, CYAN)]
    for number, row in enumerate(rows):
        text = pen.fit(row, inner).ljust(inner)
        if number == 0:
            text = pen.paint(text, BOLD)
        lines.append(f"{pen.paint(vertical, CYAN)} {text} {pen.paint(vertical, CYAN)}")
    lines.append(pen.paint(bl + border + br, CYAN))
    return lines


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _label(node: Node) -> str:
    if node.task.name != node.task.id:
        return f"{node.id} ({node.task.name})"
    return node.id


def _levels(
    dag: DAG, pen: Pen, width: int, lit: Highlight | None, states: Mapping[str, str]
) -> list[str]:
    column = min(
        max((len(_label(node)) for node in dag.nodes.values()), default=0), _MAX_LABEL_COLUMN
    )
    state_column = max((len(_state_text(state, pen)) for state in states.values()), default=0)
    counts = expansion_counts(dag)
    lines: list[str] = []
    for index, level in enumerate(dag.levels):
        if index:
            lines.append(pen.paint(f"    {pen.sym('down')}", DIM))
        title = f"Level {index}"
        if len(level) > 1:
            title += f"  ({len(level)} in parallel)"
        lines.append(pen.paint(title, BOLD, CYAN))
        for node_id in level:
            node = dag.nodes[node_id]
            deps = compact_dependencies(dag, node, counts)
            lines.append(_node_line(node, deps, pen, width, lit, states, column, state_column))
    if not dag.levels:
        lines.append("  (no tasks)")
    return lines


_KIND_COLOURS = {KIND_ROOT: (CYAN,), KIND_MATRIX: (MAGENTA,), KIND_LEAF: (CYAN,), KIND_OTHER: ()}
_ROLE_STYLES = {"target": (BOLD, MAGENTA), "related": (BOLD,), "other": ()}

_Piece = tuple[str, tuple[str, ...]]


def _node_line(
    node: Node,
    deps: list[str],
    pen: Pen,
    width: int,
    lit: Highlight | None,
    states: Mapping[str, str],
    column: int,
    state_column: int,
) -> str:
    role = lit.role(node.id) if lit is not None else "other"
    gutter = {"target": pen.sym("target"), "related": pen.sym("related")}.get(role, " ")
    kind = node_kind(node)
    label = _label(node)
    label_style = _ROLE_STYLES[role] if lit is None or role != "other" else (DIM,)
    pieces: list[_Piece] = [
        (gutter + " ", (MAGENTA,)),
        (pen.sym(kind) + " ", _KIND_COLOURS[kind]),
        (label, label_style),
    ]
    notes = []
    if deps:
        notes.append(f"{pen.sym('from')} {', '.join(deps)}")
    if is_conditional(node):
        notes.append("[if]")
    if states or notes:
        pieces.append((" " * max(column - len(label), 0), ()))
    if states:
        state = states.get(node.id, "")
        text = _state_text(state, pen)
        pieces.append(("  ", ()))
        pieces.append((text, (STATE_COLOURS.get(state, DIM),)))
        pieces.append((" " * (state_column - len(text)), ()))
    if notes:
        # The notes give way to the width; the node ID never does.
        room = width - sum(len(text) for text, _ in pieces) - 2
        if room >= 8:
            pieces.append(("  ", ()))
            pieces.append((pen.fit("  ".join(notes), room), (DIM,)))
    while not pieces[-1][0].strip():
        pieces.pop()
    last_text, last_codes = pieces[-1]
    pieces[-1] = (last_text.rstrip(), last_codes)
    return "".join(pen.paint(text, *codes) for text, codes in pieces)


def _state_text(state: str, pen: Pen) -> str:
    return f"{state_icon(state, unicode=pen.unicode)} {state}" if state else ""


def _critical(paths: list[list[str]], pen: Pen, width: int) -> list[str]:
    if not paths:
        return ["  (no tasks)"]
    lines: list[str] = []
    arrow = f" {pen.sym('arrow')} "
    for number, path in enumerate(paths, start=1):
        first = f"  {number}. "
        items = [*path[:-1], f"{path[-1]}  ({_count(len(path), 'task')})"]
        lines.extend(wrap_items(items, arrow, first=first, indent=" " * len(first), width=width))
    return lines


def _legend(pen: Pen, width: int, *, highlighted: bool) -> str:
    items = [
        f"{pen.sym(KIND_ROOT)} root",
        f"{pen.sym(KIND_MATRIX)} matrix expansion",
        f"{pen.sym(KIND_LEAF)} leaf",
        f"{pen.sym(KIND_OTHER)} other",
        f"{pen.sym('from')} depends on",
    ]
    if highlighted:
        items += [f"{pen.sym('target')} highlighted", f"{pen.sym('related')} its lineage"]
    lines = wrap_items(items, "  ", first="Legend: ", indent=" " * 8, width=width)
    return "\n".join(pen.paint(line, DIM) for line in lines)
