"""Critical-path-first priorities for the work-stealing policy. Pure: no I/O.

A node's priority is the length of the longest path from it to a leaf, each node weighted by
its duration in earlier successful runs of the same workflow (unknown nodes weigh the median of
the known ones, or 1 when nothing is known). When more nodes are ready than workers are free,
the highest priority starts first; ties go by node ID.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from wf.dag.model import DAG
from wf.stats import median

CRITICAL_PATH = "critical_path"
FIFO = "fifo"
SCHEDULES = (CRITICAL_PATH, FIFO)


def critical_path_priorities(
    dag: DAG, nodes: Iterable[str], durations: Mapping[str, float]
) -> dict[str, float]:
    """Longest weighted path to a leaf (within NODES) for every node of NODES."""
    chosen = set(nodes)
    known = [d for n, d in durations.items() if n in chosen and d >= 0]
    default = median(known) if known else 1.0
    priority: dict[str, float] = {}
    for node_id in reversed(dag.sequential_order()):  # dependents come before their dependencies
        if node_id not in chosen:
            continue
        below = max(
            (priority[child] for child in dag.nodes[node_id].dependents if child in priority),
            default=0.0,
        )
        priority[node_id] = durations.get(node_id, default) + below
    return priority
