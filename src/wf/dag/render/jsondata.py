"""The ``wf graph`` json format as a plain dict (docs/cli.md#wf-graph)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wf.dag.model import DAG, Node


def _node(node: Node, state: str | None, with_state: bool) -> dict[str, Any]:
    task = node.task
    item: dict[str, Any] = {
        "id": node.id,
        "task_name": node.name,
        "command": task.cmd,
        "type": task.type,
        "level": node.level,
        "dependencies": list(node.dependencies),
        "dependents": list(node.dependents),
        "is_expanded": node.is_expanded,
        "matrix_vars": dict(node.matrix_vars),
        "timeout": task.timeout if task.timeout else None,
        "retries": task.retries,
        "is_forensic": task.is_forensic,
        "can_parallelise": node.can_run_in_parallel,
        "condition": task.condition,
    }
    if with_state:
        item["state"] = state
    return item


def graph_json(dag: DAG, *, states: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The graph as JSON-ready data; with ``states``, every node has ``state`` (null if unknown)."""
    return {
        "name": dag.name,
        "total_tasks": dag.total_tasks,
        "execution_levels": [
            {
                "level_index": index,
                "tasks": list(level),
                "parallelisable_count": sum(dag.nodes[n].can_run_in_parallel for n in level),
            }
            for index, level in enumerate(dag.levels)
        ],
        "nodes": [
            _node(dag.nodes[node_id], (states or {}).get(node_id), states is not None)
            for node_id in dag.sequential_order()
        ],
        "root_nodes": list(dag.roots),
        "leaf_nodes": list(dag.leaves),
        "global_trap": dag.global_trap.task.id if dag.global_trap is not None else None,
        "has_forensic_tasks": bool(dag.forensic_tasks),
        "has_matrix_tasks": any(node.is_expanded for node in dag.nodes.values()),
    }
