"""Read-only views of one stored run: the inspect payload, the live status and audit events.

These back ``wf inspect``, ``wf status`` and ``wf audit`` (docs/cli.md); the ``wf export``
payload reuses the audit and DAG helpers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wf.storage import (
    TERMINAL_RUN_STATUSES,
    AuditEntry,
    ContextSnapshot,
    DAGCache,
    ForensicLog,
    Run,
    Store,
    TaskExecution,
    format_time,
    now_utc,
)
from wf.storage.cache import CacheHit

#: The audit event types (docs/json.md#wf-audit---json), in lifecycle order.
AUDIT_EVENT_TYPES = (
    "run_started",
    "run_resumed",
    "task_started",
    "task_retried",
    "task_succeeded",
    "task_failed",
    "task_skipped",
    "task_cancelled",
    "task_reused",
    "task_cached",
    "forensic_trap_fired",
    "run_completed",
    "run_interrupted",
)


def parse_json_text(text: str) -> Any:
    """The parsed JSON value of TEXT, or TEXT itself when it does not parse."""
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return text


def variable_dict(snapshot: ContextSnapshot) -> dict[str, Any]:
    """One variable of the inspect payload: its latest snapshot, without the row bookkeeping."""
    return {
        "name": snapshot.variable_name,
        "value": snapshot.variable_value,
        "type": snapshot.variable_type,
        "set_by_task": snapshot.set_by_task,
        "set_at": None if snapshot.set_at is None else format_time(snapshot.set_at),
        "is_read_only": snapshot.is_read_only,
    }


def dag_cache_dict(cache: DAGCache | None) -> dict[str, Any] | None:
    """``{total_nodes, total_levels, has_parallel_tasks, dag}`` with the graph JSON parsed."""
    if cache is None:
        return None
    return {
        "total_nodes": cache.total_nodes,
        "total_levels": cache.total_levels,
        "has_parallel_tasks": cache.has_parallel_tasks,
        "dag": parse_json_text(cache.dag_json),
    }


def audit_event_dict(entry: AuditEntry) -> dict[str, Any]:
    """An audit entry with ``event_data`` parsed (the stored string if it is not JSON)."""
    data = entry.to_dict()
    data["event_data"] = parse_json_text(entry.event_data)
    return data


def audit_events(store: Store, run_id: str, event_type: str | None = None) -> list[AuditEntry]:
    """The run's audit entries in insertion order; RUN_ID may be a prefix (unknown: raises)."""
    run = store.get_run(run_id)
    return store.list_audit_trail(run_id=run.id, event_type=event_type)


def cached_nodes(latest: list[TaskExecution], hits: list[CacheHit]) -> dict[str, CacheHit]:
    """The nodes whose latest outcome is ``cached`` (docs/caching.md): an up-to-date node has
    a hit and no attempt row; after a resume the later of its hit and its row counts."""
    rows = {te.task_id: te for te in latest}
    out: dict[str, CacheHit] = {}
    for hit in hits:
        row = rows.get(hit.task_id)
        if row is None or (
            row.created_at is not None
            and hit.created_at is not None
            and hit.created_at > row.created_at
        ):
            out[hit.task_id] = hit
    return out


def node_states(store: Store, run_id: str) -> dict[str, str]:
    """The latest state of every node of RUN_ID (a full ID), ``cached`` included."""
    latest = store.latest_task_executions(run_id)
    states = {te.task_id: str(te.state) for te in latest}
    for node_id in cached_nodes(latest, store.list_cache_hits(run_id)):
        states[node_id] = "cached"
    return states


@dataclass
class Inspection:
    """Everything ``wf inspect`` shows about one run."""

    run: Run
    tasks: list[TaskExecution]
    """Every attempt row, in insertion order."""
    latest: list[TaskExecution]
    """The latest row of each node (forensic trap nodes included)."""
    variables: list[ContextSnapshot]
    """Each variable's newest snapshot row, by name."""
    forensic_logs: list[ForensicLog]
    dag_cache: DAGCache | None
    cached: list[CacheHit] = field(default_factory=list)
    """The up-to-date outcomes of the run (docs/caching.md): nodes without attempt rows."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON payload (docs/json.md#wf-inspect---json), plus ``cached`` (docs/caching.md)."""
        return {
            "run": self.run.to_dict(),
            "tasks": [te.to_dict() for te in self.tasks],
            "cached": [hit.to_dict() for hit in self.cached],
            "variables": [variable_dict(v) for v in self.variables],
            "forensic_logs": [f.to_dict() for f in self.forensic_logs],
            "dag_cache": dag_cache_dict(self.dag_cache),
        }


def inspect_run(store: Store, run_id: str) -> Inspection:
    """Collect the inspect view of RUN_ID (a unique prefix is enough)."""
    run = store.get_run(run_id)
    return Inspection(
        run=run,
        tasks=store.list_task_executions(run_id=run.id),
        latest=store.latest_task_executions(run.id),
        variables=store.latest_variables(run.id),
        forensic_logs=store.list_forensic_logs(run_id=run.id),
        dag_cache=store.get_dag_cache(run.id),
        cached=store.list_cache_hits(run.id),
    )


@dataclass
class RunStatusView:
    """One refresh of ``wf status``: the run row and the latest row of each node."""

    run: Run
    tasks: list[TaskExecution]
    taken_at: datetime

    @property
    def terminal(self) -> bool:
        """Whether the run has reached success, failed, cancelled or interrupted."""
        return self.run.status in TERMINAL_RUN_STATUSES

    @property
    def elapsed_ms(self) -> int | None:
        """The recorded duration once finished, else the time since the run started."""
        if self.run.duration_ms is not None and self.terminal:
            return self.run.duration_ms
        if self.run.start_time is None:
            return None
        end = self.run.end_time if self.terminal and self.run.end_time else self.taken_at
        return max(0, round((end - self.run.start_time).total_seconds() * 1000))

    def counts(self) -> dict[str, int]:
        """Latest states of the normal nodes: per state, plus ``waiting`` (no row yet)."""
        out = dict.fromkeys(
            ("success", "failed", "skipped", "running", "cancelled", "pending", "waiting"), 0
        )
        normal = [te for te in self.tasks if not te.is_forensic]
        for te in normal:
            state = str(te.state)
            key = "pending" if state == "ready" else state
            out[key] = out.get(key, 0) + 1
        out["waiting"] = max(0, self.run.total_tasks - len(normal))
        return out

    def to_dict(self) -> dict[str, Any]:
        """``{"run": …, "tasks": […]}``, one object per refresh (docs/json.md#wf-status---json)."""
        return {"run": self.run.to_dict(), "tasks": [te.to_dict() for te in self.tasks]}


def run_status_view(store: Store, run_id: str, *, now: datetime | None = None) -> RunStatusView:
    """The current status of RUN_ID (a unique prefix is enough)."""
    run = store.get_run(run_id)
    return RunStatusView(
        run=run, tasks=store.latest_task_executions(run.id), taken_at=now or now_utc()
    )
