"""Graph facts shared by the renderers: node kinds, lineage, critical paths and state icons."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass

from wf.dag.model import DAG, Node
from wf.errors import UsageError

TASK_STATES = (
    "pending",
    "ready",
    "running",
    "success",
    "failed",
    "skipped",
    "cancelled",
    "cached",
)

STATE_ICONS = {
    "success": "✓",
    "failed": "✗",
    "running": "⟳",
    "pending": "⊙",
    "ready": "→",
    "skipped": "⊘",
    "cancelled": "⊗",
    "cached": "≡",
}
STATE_ICONS_ASCII = {
    "success": "OK",
    "failed": "X",
    "running": "~",
    "pending": "..",
    "ready": "->",
    "skipped": "-",
    "cancelled": "!",
    "cached": "=",
}

KIND_ROOT = "root"
KIND_MATRIX = "matrix"
KIND_LEAF = "leaf"
KIND_OTHER = "other"


def state_icon(state: str, *, unicode: bool = True) -> str:
    """The icon of a task state (docs/cli.md#wf-run), or ``?`` for a state wf does not know."""
    icons = STATE_ICONS if unicode else STATE_ICONS_ASCII
    return icons.get(state, "?")


def node_kind(node: Node) -> str:
    """Root, matrix expansion, leaf or other, in that order of precedence."""
    if not node.dependencies:
        return KIND_ROOT
    if node.is_expanded:
        return KIND_MATRIX
    if not node.dependents:
        return KIND_LEAF
    return KIND_OTHER


def is_conditional(node: Node) -> bool:
    """True when the node has an ``if`` condition."""
    return bool(node.task.condition.strip())


def edge_count(dag: DAG) -> int:
    """Number of dependency edges between nodes (the global trap not included)."""
    return sum(len(node.dependencies) for node in dag.nodes.values())


def _walk(dag: DAG, start: Iterable[str], *, upstream: bool) -> set[str]:
    seen: set[str] = set()
    stack = list(start)
    while stack:
        node = dag.nodes[stack.pop()]
        for other in node.dependencies if upstream else node.dependents:
            if other not in seen:
                seen.add(other)
                stack.append(other)
    return seen


def ancestors(dag: DAG, node_ids: Iterable[str]) -> set[str]:
    """Every node upstream of any of ``node_ids`` (excluding them unless reachable)."""
    return _walk(dag, node_ids, upstream=True)


def descendants(dag: DAG, node_ids: Iterable[str]) -> set[str]:
    """Every node downstream of any of ``node_ids`` (excluding them unless reachable)."""
    return _walk(dag, node_ids, upstream=False)


@dataclass(frozen=True)
class Highlight:
    """The nodes to emphasise for ``--highlight TASK``."""

    task: str
    targets: frozenset[str]
    ancestors: frozenset[str]
    descendants: frozenset[str]

    def role(self, node_id: str) -> str:
        """``target``, ``related`` (ancestor or descendant) or ``other``."""
        if node_id in self.targets:
            return "target"
        if node_id in self.ancestors or node_id in self.descendants:
            return "related"
        return "other"


def resolve_highlight(dag: DAG, task: str) -> Highlight:
    """Lineage of ``task``: a node ID, or a matrix task ID meaning all its expansions.

    Raises ``UsageError`` when no node matches.
    """
    if task in dag.nodes:
        targets = {task}
    else:
        targets = {node_id for node_id, node in dag.nodes.items() if node.task.id == task}
    if not targets:
        raise UsageError(f"cannot highlight {task!r}: no such task in workflow {dag.name!r}")
    up = ancestors(dag, targets) - targets
    down = descendants(dag, targets) - targets
    return Highlight(task, frozenset(targets), frozenset(up), frozenset(down))


def critical_paths(dag: DAG, limit: int = 3) -> list[list[str]]:
    """Up to ``limit`` longest root-to-leaf chains, by node count.

    Ties are broken by comparing the chains' node IDs in order, so the result is deterministic.
    A best-first search over path prefixes, bounded by each node's longest way down, finds them
    without enumerating every path (there can be exponentially many).
    """
    if limit <= 0 or not dag.nodes:
        return []
    down: dict[str, int] = {}
    for level in reversed(dag.levels):
        for node_id in level:
            dependents = dag.nodes[node_id].dependents
            down[node_id] = 1 + max((down[d] for d in dependents), default=0)
    heap: list[tuple[int, tuple[str, ...]]] = [(-down[r], (r,)) for r in sorted(dag.roots)]
    heapq.heapify(heap)
    found: list[list[str]] = []
    while heap and len(found) < limit:
        _, path = heapq.heappop(heap)
        dependents = dag.nodes[path[-1]].dependents
        if not dependents:
            found.append(list(path))
            continue
        for dependent in dependents:
            heapq.heappush(heap, (-(len(path) + down[dependent]), (*path, dependent)))
    return found


def expansion_counts(dag: DAG) -> dict[str, int]:
    """Number of nodes per matrix task ID."""
    counts: dict[str, int] = {}
    for node in dag.nodes.values():
        if node.is_expanded:
            counts[node.task.id] = counts.get(node.task.id, 0) + 1
    return counts


def compact_dependencies(dag: DAG, node: Node, counts: dict[str, int]) -> list[str]:
    """The node's dependencies, writing ``X[*]`` when it depends on every expansion of X."""
    per_task: dict[str, int] = {}
    for dep in node.dependencies:
        upstream = dag.nodes[dep]
        if upstream.is_expanded:
            per_task[upstream.task.id] = per_task.get(upstream.task.id, 0) + 1
    whole = {task_id for task_id, n in per_task.items() if n == counts.get(task_id) and n > 1}
    out: list[str] = []
    for dep in node.dependencies:
        task_id = dag.nodes[dep].task.id
        if dag.nodes[dep].is_expanded and task_id in whole:
            if f"{task_id}[*]" not in out:
                out.append(f"{task_id}[*]")
        else:
            out.append(dep)
    return out
