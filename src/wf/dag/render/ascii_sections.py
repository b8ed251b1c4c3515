"""Optional sections of the ascii graph: forensic tasks, details, statistics, matrix, triggers."""

from __future__ import annotations

import json
from collections.abc import Mapping

from wf.dag.duration import format_duration
from wf.dag.model import DAG, Node, TaskDefinition
from wf.dag.render._text import (
    DIM,
    MAGENTA,
    STATE_COLOURS,
    Pen,
    first_line,
    wrap_items,
)
from wf.dag.render.analysis import (
    KIND_MATRIX,
    compact_dependencies,
    edge_count,
    expansion_counts,
    is_conditional,
    node_kind,
    state_icon,
)


def _command(cmd: str, pen: Pen, room: int) -> str:
    line, more = first_line(cmd)
    suffix = f"  (+{more} more line{'s' if more != 1 else ''})" if more else ""
    return pen.fit(line, max(room - len(suffix), 8)) + suffix


def forensic_lines(dag: DAG, pen: Pen, width: int) -> list[str]:
    """One entry per forensic task: its role (global trap, trap of which nodes) and command."""
    if not dag.forensic_tasks:
        return ["  none"]
    trapped_by: dict[str, list[str]] = {}
    for node_id in dag.sequential_order():
        trap = dag.nodes[node_id].task.on_failure
        if trap:
            trapped_by.setdefault(trap, []).append(node_id)
    global_id = dag.global_trap.task.id if dag.global_trap is not None else ""
    lines: list[str] = []
    for task_id in sorted(dag.forensic_tasks):
        task = dag.forensic_tasks[task_id]
        roles = []
        if task_id == global_id:
            roles.append("global trap")
        if task_id in trapped_by:
            roles.append("trap of " + ", ".join(trapped_by[task_id]))
        if not roles:
            roles.append("unused")
        head = f"  {task_id}" + (f" ({task.name})" if task.name != task_id else "")
        room = width - len(head)
        roles_text = pen.paint(pen.fit("  " + "; ".join(roles), room), DIM) if room > 8 else ""
        lines.append(head + roles_text)
        lines.append(f"      command: {_command(task.cmd, pen, width - 15)}")
    return lines


def _retry_text(task: TaskDefinition, pen: Pen) -> str:
    if task.retries <= 0:
        return "0"
    parts = [f"delay {format_duration(task.retry_delay)}"]
    if task.retry_backoff != 1.0:
        parts.append(f"backoff {task.retry_backoff:g}{pen.sym('times')}")
    if task.retry_max_delay is not None:
        parts.append(f"max delay {format_duration(task.retry_max_delay)}")
    return f"{task.retries} ({', '.join(parts)})"


def detail_lines(dag: DAG, pen: Pen, width: int, states: Mapping[str, str]) -> list[str]:
    """A block per node, in sequential order, with the fields of ``--detail``.

    See docs/cli.md#wf-graph.
    """
    counts = expansion_counts(dag)
    lines: list[str] = []
    key_width = 12
    room = width - 4 - key_width

    def field(key: str, value: str) -> None:
        lines.append(f"    {pen.paint(key.ljust(key_width), DIM)}{pen.fit(value, room)}")

    for node_id in dag.sequential_order():
        node = dag.nodes[node_id]
        task = node.task
        if lines:
            lines.append("")
        head = f"  {pen.sym(node_kind(node))} {node.id}"
        if task.name != task.id:
            head += f" ({task.name})"
        state = states.get(node_id)
        if state:
            mark = f"{state_icon(state, unicode=pen.unicode)} {state}"
            head += "  " + pen.paint(mark, STATE_COLOURS.get(state, DIM))
        lines.append(head)
        field("type", task.type)
        field("level", str(node.level))
        field("command", _command(task.cmd, pen, room))
        if task.description:
            field("description", first_line(task.description)[0])
        deps = compact_dependencies(dag, node, counts) or ["-"]
        indent = " " * (4 + key_width)
        wrapped = wrap_items(deps, ", ", first=indent, indent=indent, width=width)
        key = pen.paint("depends on".ljust(key_width), DIM)
        wrapped[0] = f"    {key}{wrapped[0][len(indent) :]}"
        lines.extend(wrapped)
        timeout = format_duration(task.timeout) if task.timeout else "none"
        field("timeout", timeout)
        field("retries", _retry_text(task, pen))
        if is_conditional(node):
            field("condition", task.condition.strip())
        if node.is_expanded:
            field("matrix", ", ".join(f"{k}={v}" for k, v in sorted(node.matrix_vars.items())))
        field("env keys", str(len(task.env)))
        if task.on_failure:
            field("on failure", task.on_failure)
    return lines or ["  (no tasks)"]


def statistics_lines(dag: DAG, pen: Pen, paths: list[list[str]]) -> list[str]:
    """Counts that describe the graph's size and shape."""
    nodes = list(dag.nodes.values())
    widest = max(range(len(dag.levels)), key=lambda i: len(dag.levels[i]), default=None)
    expanded = [node for node in nodes if node.is_expanded]
    rows = [
        ("Tasks", str(len(nodes))),
        ("Levels", str(len(dag.levels))),
        ("Roots / leaves", f"{len(dag.roots)} / {len(dag.leaves)}"),
        ("Dependencies", str(edge_count(dag))),
        (
            "Widest level",
            "-" if widest is None else f"{len(dag.levels[widest])} (level {widest})",
        ),
        ("Parallelisable", str(sum(len(level) for level in dag.levels if len(level) > 1))),
        ("Critical path", f"{len(paths[0]) if paths else 0} task(s)"),
        (
            "Matrix",
            f"{len(expanded)} expansion(s) of {len({n.task.id for n in expanded})} task(s)"
            if expanded
            else "none",
        ),
        ("Conditional", str(sum(is_conditional(node) for node in nodes))),
        ("With retries", str(sum(node.task.retries > 0 for node in nodes))),
        ("With timeout", str(sum(bool(node.task.timeout) for node in nodes))),
        ("Forensic", str(len(dag.forensic_tasks))),
    ]
    return [f"  {pen.paint(key.ljust(16), DIM)}{value}" for key, value in rows]


def matrix_lines(dag: DAG, pen: Pen, width: int) -> list[str]:
    """Matrix tasks, their axes, and their expansions."""
    groups: dict[str, list[Node]] = {}
    for node_id in dag.sequential_order():
        node = dag.nodes[node_id]
        if node.is_expanded:
            groups.setdefault(node.task.id, []).append(node)
    if not groups:
        return ["  none"]
    lines: list[str] = []
    times = f" {pen.sym('times')} "
    for task_id, nodes in groups.items():
        axes = nodes[0].task.matrix or {k: [] for k in sorted(nodes[0].matrix_vars)}
        shape = times.join(f"{key} ({len(values)})" for key, values in sorted(axes.items()))
        lines.append(pen.fit(f"  {task_id}  {shape}  {pen.sym('arrow')} {len(nodes)}", width))
        icon = pen.paint(pen.sym(KIND_MATRIX), MAGENTA)
        lines.extend(f"    {icon} {node.id}" for node in nodes)
    return lines


def _config_value(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def trigger_lines(dag: DAG, pen: Pen, width: int) -> list[str]:
    """Declared triggers, each marked as not executed by wf."""
    if not dag.triggers:
        return ["  none (manual execution only)"]
    lines = []
    mark = "(not executed by wf)"
    for trigger in dag.triggers:
        config = "  ".join(f"{k}={_config_value(v)}" for k, v in sorted(trigger.config.items()))
        text = pen.fit(f"  {trigger.type}  {config}".rstrip(), width - len(mark) - 2)
        lines.append(f"{text}  {pen.paint(mark, DIM)}")
    return lines
