"""Rebuild a run's DAG from its stored ``dag_cache`` JSON, for drawing it as the run saw it."""

from __future__ import annotations

import json
from typing import Any

from wf.dag.model import DAG, GLOBAL_TRAP_ID, TASK_TYPE_FORENSIC, Node, TaskDefinition

_TASK_KEYS = {
    "id",
    "name",
    "description",
    "type",
    "cmd",
    "depends_on",
    "working_dir",
    "env",
    "clean_env",
    "matrix",
    "register",
    "ignore_failure",
    "retries",
    "retry_delay",
    "retry_backoff",
    "retry_max_delay",
    "timeout",
    "kill_grace",
    "on_failure",
}


class CachedDagError(ValueError):
    """The stored graph JSON is not a DAG this version can read."""


def _task(data: Any) -> TaskDefinition:
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise CachedDagError("a node has no task definition")
    fields = {k: v for k, v in data.items() if k in _TASK_KEYS}
    fields["condition"] = str(data.get("if") or "")
    return TaskDefinition(**fields)


def dag_from_cache(dag_json: str | dict[str, Any]) -> DAG:
    """The DAG stored by a run (``DAG.to_dict()``), with levels, roots, leaves and dependents.

    Only what drawing needs is restored; a global trap's definition is not stored, so its node
    carries the trap's ID only. Raises CachedDagError for JSON of another shape.
    """
    try:
        data = json.loads(dag_json) if isinstance(dag_json, str) else dag_json
        if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
            raise CachedDagError("no node list")
        dag = DAG(
            name=str(data.get("name", "")),
            file_path=str(data.get("file_path", "")),
            total_tasks=int(data.get("total_tasks") or 0),
        )
        for item in data["nodes"]:
            node = Node(
                id=str(item["id"]),
                task=_task(item.get("task_def")),
                dependencies=[str(d) for d in item.get("dependency_ids", [])],
                level=int(item.get("level", 0)),
                can_run_in_parallel=bool(item.get("can_run_in_parallel", False)),
                is_expanded=bool(item.get("is_expanded", False)),
                matrix_vars={str(k): str(v) for k, v in item.get("matrix_vars", {}).items()},
            )
            dag.nodes[node.id] = node
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        if isinstance(exc, CachedDagError):
            raise
        raise CachedDagError(f"unreadable graph: {exc}") from exc
    for node in dag.nodes.values():
        node.dependencies = [d for d in node.dependencies if d in dag.nodes]
        for dep in node.dependencies:
            dag.nodes[dep].dependents.append(node.id)
    depth = max((n.level for n in dag.nodes.values()), default=-1) + 1
    dag.levels = [
        sorted(n.id for n in dag.nodes.values() if n.level == level) for level in range(depth)
    ]
    dag.roots = [n for n in dag.sequential_order() if not dag.nodes[n].dependencies]
    dag.leaves = [n for n in dag.sequential_order() if not dag.nodes[n].dependents]
    trap = data.get("global_trap")
    if isinstance(trap, str) and trap:
        task = TaskDefinition(id=trap, type=TASK_TYPE_FORENSIC)
        dag.global_trap = Node(id=GLOBAL_TRAP_ID, task=task)
    return dag
