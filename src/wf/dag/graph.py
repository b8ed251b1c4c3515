"""Nodes and edges: expansion, ``depends_on`` resolution, trap checks, levels.

See docs/executors.md.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from wf.dag.levels import assign_levels, cycle_message
from wf.dag.matrix import expand, matches, split_reference
from wf.dag.model import Node, TaskDefinition, WorkflowDefinition
from wf.dag.pairing import bind_reference, is_paired
from wf.dag.registers import register_conflicts
from wf.dag.report import quote, show

__all__ = ["Graph", "analyse", "check_traps"]


@dataclass
class Graph:
    """The linked nodes and levels of a definition, with the problems found on the way."""

    nodes: dict[str, Node] = field(default_factory=dict)
    levels: list[list[str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def analyse(definition: WorkflowDefinition, *, unusable: Collection[str] = ()) -> Graph:
    """Expand, link and level the normal tasks of DEFINITION, collecting build errors.

    References to a task in UNUSABLE (one whose table or matrix was invalid) are skipped,
    so that a single mistake is not reported again as a dependency error. The work is linear
    in the number of nodes and edges.
    """
    graph = Graph(errors=check_traps(definition, unusable) + register_conflicts(definition))
    expansions = _expand_all(definition, graph)
    # Plain tasks (no matrix, usable) are by far the most common reference: one lookup each.
    plain = {
        task_id: group[0].id
        for task_id, group in expansions.items()
        if len(group) == 1 and not group[0].is_expanded and task_id not in unusable
    }
    dependents = {node_id: node.dependents for node_id, node in graph.nodes.items()}
    for task in definition.tasks.values():
        references = task.depends_on
        if not references or task.is_forensic:
            continue
        if any(is_paired(reference) for reference in references):
            if task.id not in unusable:
                _link_paired(task, definition, expansions, unusable, graph.errors, dependents)
            continue
        resolved = _plain_upstream(references, plain)
        if resolved is None:
            resolved = _resolve(task, definition, expansions, unusable, graph.errors)
        for node in expansions[task.id]:
            node.dependencies = resolved.copy()
            node_id = node.id
            for upstream_id in resolved:
                dependents[upstream_id].append(node_id)
    for ids in dependents.values():
        if len(ids) > 1:
            ids.sort()
    levels, cycle = assign_levels(graph.nodes)
    if cycle is not None:
        graph.errors.append(cycle_message(cycle))
    graph.levels = levels
    return graph


def _plain_upstream(references: list[str], plain: dict[str, str]) -> list[str] | None:
    """The node IDs of REFERENCES when all name plain tasks, else None."""
    resolved = []
    for reference in references:
        node_id = plain.get(reference)
        if node_id is None:
            return None
        resolved.append(node_id)
    return list(dict.fromkeys(resolved)) if len(resolved) > 1 else resolved


def check_traps(definition: WorkflowDefinition, unusable: Collection[str] = ()) -> list[str]:
    """Errors for trap targets (global and per task) that are missing or not forensic."""
    errors = []
    target = definition.on_failure
    if target and target not in unusable:
        problem = _trap_problem(definition, target)
        if problem:
            errors.append(f"global trap attachment failed: {problem}")
    for task in definition.tasks.values():
        target = task.on_failure
        if task.is_forensic or not target or target in unusable:
            continue
        problem = _trap_problem(definition, target)
        if problem:
            errors.append(f"task {quote(task.id)}: on_failure {problem}")
    return errors


def _trap_problem(definition: WorkflowDefinition, target: str) -> str:
    trap = definition.tasks.get(target)
    if trap is None:
        return f"task {quote(target)} does not exist"
    if not trap.is_forensic:
        return f'task {quote(target)} is not forensic (set type = "forensic" on it)'
    return ""


def _expand_all(definition: WorkflowDefinition, graph: Graph) -> dict[str, list[Node]]:
    """Create the nodes; return them grouped by task ID, expansions in expansion order."""
    nodes = graph.nodes
    expansions: dict[str, list[Node]] = {}
    for task in definition.tasks.values():
        if task.is_forensic:
            continue
        group = expansions.setdefault(task.id, [])
        if task.matrix:
            candidates = [
                Node(id=node_id, task=task, is_expanded=True, matrix_vars=matrix_vars)
                for node_id, matrix_vars in expand(task)
            ]
        else:
            candidates = [Node(id=task.id, task=task)]
        for node in candidates:
            if node.id in nodes:
                graph.errors.append(f"duplicate node ID {quote(node.id)}")
            else:
                nodes[node.id] = node
                group.append(node)
    return expansions


def _link_paired(
    task: TaskDefinition,
    definition: WorkflowDefinition,
    expansions: dict[str, list[Node]],
    unusable: Collection[str],
    errors: list[str],
    dependents: dict[str, list[str]],
) -> None:
    """Link each expansion of TASK to what its own references select (one-to-one pairing)."""
    reported: set[str] = set()
    for node in expansions[task.id]:
        upstream: dict[str, None] = {}
        for reference in task.depends_on:
            bound: str | None = reference
            problem = ""
            if is_paired(reference):
                bound, problem = bind_reference(reference, task.id, node.matrix_vars)
            if bound is not None:
                problem = _resolve_reference(bound, definition, expansions, unusable, upstream)
            message = f"dependency resolution failed: task {show(task.id)} depends on {problem}"
            if problem and message not in reported:
                reported.add(message)
                errors.append(message)
        node.dependencies = list(upstream)
        for upstream_id in upstream:
            dependents[upstream_id].append(node.id)


def _resolve(
    task: TaskDefinition,
    definition: WorkflowDefinition,
    expansions: dict[str, list[Node]],
    unusable: Collection[str],
    errors: list[str],
) -> list[str]:
    """The upstream node IDs of TASK's ``depends_on``, in order and without duplicates."""
    upstream: dict[str, None] = {}
    for reference in task.depends_on:
        problem = _resolve_reference(reference, definition, expansions, unusable, upstream)
        if problem:
            errors.append(
                f"dependency resolution failed: task {show(task.id)} depends on {problem}"
            )
    return list(upstream)


def _resolve_reference(
    reference: str,
    definition: WorkflowDefinition,
    expansions: dict[str, list[Node]],
    unusable: Collection[str],
    upstream: dict[str, None],
) -> str:
    """Add the node IDs REFERENCE selects to UPSTREAM; return what is wrong with it, if anything."""
    parsed = split_reference(reference)
    base = reference if parsed is None else parsed[0]
    if base in unusable:
        return ""
    target = definition.tasks.get(base)
    if parsed is None or target is None:
        return f"undefined task {show(reference)}"
    if target.is_forensic:
        return f"forensic task {show(base)} (forensic tasks run only as failure traps)"
    candidates = expansions.get(target.id, [])
    pairs = parsed[1]
    if pairs is None:
        upstream.update(dict.fromkeys(node.id for node in candidates))
        return ""
    if not target.matrix:
        return f"undefined task {show(reference)} (task {show(base)} has no matrix)"
    selected = [node.id for node in candidates if matches(node.matrix_vars, pairs)]
    if not selected:
        return f"undefined task {show(reference)} (no expansion of {show(base)} matches)"
    upstream.update(dict.fromkeys(selected))
    return ""
