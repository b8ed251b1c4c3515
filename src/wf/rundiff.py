"""Comparison of two runs, task by task and variable by variable (docs/cli.md#wf-diff)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from wf.inspection import cached_nodes
from wf.storage import ContextSnapshot, Run, Store, TaskExecution
from wf.storage.cache import CacheHit


class DiffStatus(StrEnum):
    """How one task or variable compares between run A and run B."""

    ONLY_A = "only_a"
    ONLY_B = "only_b"
    CHANGED = "changed"
    SAME = "same"


_ORDER = {status: i for i, status in enumerate(DiffStatus)}

#: The attempt-row fields whose difference makes a task ``changed``, with their labels.
TASK_FIELDS = (
    ("state", "state"),
    ("exit_code", "exit code"),
    ("error_message", "error"),
    ("fingerprint", "fingerprint"),
)


def task_summary(te: TaskExecution) -> dict[str, Any]:
    """The compared fields of a node's latest row, plus its attempt and duration for context."""
    return {
        "state": str(te.state),
        "exit_code": te.exit_code,
        "error_message": te.error_message,
        "fingerprint": te.fingerprint,
        "attempt": te.attempt,
        "duration_ms": te.duration_ms,
    }


@dataclass(frozen=True)
class TaskDiff:
    """One node: its status and the summaries of its latest row in A and B (None if absent)."""

    task_id: str
    status: DiffStatus
    a: dict[str, Any] | None
    b: dict[str, Any] | None

    def changed_fields(self) -> list[str]:
        """The TASK_FIELDS keys whose values differ (empty unless ``changed``)."""
        if self.a is None or self.b is None:
            return []
        return [key for key, _ in TASK_FIELDS if self.a[key] != self.b[key]]

    def to_dict(self) -> dict[str, Any]:
        """``{task_id, status, a, b}``."""
        return {"task_id": self.task_id, "status": str(self.status), "a": self.a, "b": self.b}


@dataclass(frozen=True)
class VariableDiff:
    """One variable: its status and latest value in A and B (None if absent)."""

    name: str
    status: DiffStatus
    a: str | None
    b: str | None

    def to_dict(self) -> dict[str, Any]:
        """``{name, status, a, b}``."""
        return {"name": self.name, "status": str(self.status), "a": self.a, "b": self.b}


def _status(in_a: bool, in_b: bool, equal: bool) -> DiffStatus:
    if not in_b:
        return DiffStatus.ONLY_A
    if not in_a:
        return DiffStatus.ONLY_B
    return DiffStatus.SAME if equal else DiffStatus.CHANGED


def cached_summary(hit: CacheHit) -> dict[str, Any]:
    """The compared fields of a node that was up to date (docs/caching.md): no attempt."""
    return {
        "state": "cached",
        "exit_code": None,
        "error_message": None,
        "fingerprint": None,
        "attempt": 0,
        "duration_ms": None,
    }


def _summaries(
    rows: Iterable[TaskExecution], hits: Iterable[CacheHit]
) -> dict[str, dict[str, Any]]:
    latest = _latest(rows)
    out = {task_id: task_summary(te) for task_id, te in latest.items()}
    for task_id, hit in cached_nodes(list(latest.values()), list(hits)).items():
        out[task_id] = cached_summary(hit)
    return out


def compare_tasks(
    rows_a: Iterable[TaskExecution],
    rows_b: Iterable[TaskExecution],
    cached_a: Iterable[CacheHit] = (),
    cached_b: Iterable[CacheHit] = (),
) -> list[TaskDiff]:
    """Compare nodes by ID using each side's latest non-forensic row (highest id wins), or
    its ``cached`` outcome when that came later (CACHED_A, CACHED_B).

    Sorted only_a, only_b, changed, same, then by node ID.
    """
    latest_a = _summaries(rows_a, cached_a)
    latest_b = _summaries(rows_b, cached_b)
    out = []
    for task_id in latest_a.keys() | latest_b.keys():
        a = latest_a.get(task_id)
        b = latest_b.get(task_id)
        equal = a is not None and b is not None and all(a[k] == b[k] for k, _ in TASK_FIELDS)
        out.append(TaskDiff(task_id, _status(a is not None, b is not None, equal), a, b))
    return sorted(out, key=lambda d: (_ORDER[d.status], d.task_id))


def _latest(rows: Iterable[TaskExecution]) -> dict[str, TaskExecution]:
    latest: dict[str, TaskExecution] = {}
    for te in rows:
        if te.is_forensic:
            continue
        seen = latest.get(te.task_id)
        if seen is None or te.id > seen.id:
            latest[te.task_id] = te
    return latest


def compare_variables(
    vars_a: Iterable[ContextSnapshot], vars_b: Iterable[ContextSnapshot]
) -> list[VariableDiff]:
    """Compare variables by the value of their latest snapshot rows (one row per name given).

    Sorted only_a, only_b, changed, same, then by name.
    """
    values_a = {s.variable_name: s.variable_value for s in vars_a}
    values_b = {s.variable_name: s.variable_value for s in vars_b}
    out = []
    for name in values_a.keys() | values_b.keys():
        a, b = values_a.get(name), values_b.get(name)
        status = _status(name in values_a, name in values_b, a == b)
        out.append(VariableDiff(name, status, a, b))
    return sorted(out, key=lambda d: (_ORDER[d.status], d.name))


@dataclass
class RunDiff:
    """The comparison of run A with run B."""

    run_a: Run
    run_b: Run
    tasks: list[TaskDiff]
    variables: list[VariableDiff]

    @property
    def changed(self) -> bool:
        """True when the statuses differ or any task or variable is not ``same``."""
        return (
            self.run_a.status != self.run_b.status
            or any(t.status is not DiffStatus.SAME for t in self.tasks)
            or any(v.status is not DiffStatus.SAME for v in self.variables)
        )

    def to_dict(self) -> dict[str, Any]:
        """``{run_a, run_b, tasks, variables, changed}`` (docs/json.md#wf-diff---json)."""
        return {
            "run_a": self.run_a.to_dict(),
            "run_b": self.run_b.to_dict(),
            "tasks": [t.to_dict() for t in self.tasks],
            "variables": [v.to_dict() for v in self.variables],
            "changed": self.changed,
        }


def diff_runs(store: Store, run_a: str, run_b: str) -> RunDiff:
    """Compare two stored runs; either ID may be a unique prefix (unknown: raises)."""
    a = store.get_run(run_a)
    b = store.get_run(run_b)
    return RunDiff(
        run_a=a,
        run_b=b,
        tasks=compare_tasks(
            store.latest_task_executions(a.id, include_forensic=False),
            store.latest_task_executions(b.id, include_forensic=False),
            store.list_cache_hits(a.id),
            store.list_cache_hits(b.id),
        ),
        variables=compare_variables(store.latest_variables(a.id), store.latest_variables(b.id)),
    )
