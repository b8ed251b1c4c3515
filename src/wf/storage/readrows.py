"""Row classes that only reads build: audit entries, the run summary, per-workflow counts.

They live apart from ``wf.storage.models`` (which re-exports them) so that ``wf run``, which
never builds them, does not pay for their dataclass code at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wf.storage.times import format_optional

__all__ = ["AuditEntry", "RunSummary", "WorkflowStats"]


@dataclass(slots=True)
class AuditEntry:
    """One ``audit_trail`` row; ``event_data`` is the stored text, byte for byte."""

    id: int = 0
    run_id: str = ""
    event_type: str = ""
    event_data: str = "{}"
    created_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON-ready values (``event_data`` left as the stored string)."""
        return {
            "id": self.id,
            "run_id": self.run_id,
            "event_type": self.event_type,
            "event_data": self.event_data,
            "created_at": format_optional(self.created_at),
        }


@dataclass(slots=True)
class RunSummary:
    """Aggregates over the runs matching a filter (``wf runs`` summary box, docs/cli.md#wf-runs)."""

    total_runs: int = 0
    success: int = 0
    failed: int = 0
    running: int = 0
    cancelled: int = 0
    interrupted: int = 0
    resuming: int = 0
    pending: int = 0
    avg_duration_ms: int = 0
    total_duration_ms: int = 0
    avg_tasks: float = 0.0

    @property
    def finished(self) -> int:
        """Runs that reached success, failed, cancelled or interrupted."""
        return self.success + self.failed + self.cancelled + self.interrupted

    @property
    def success_rate(self) -> float:
        """Success ÷ finished runs (docs/storage.md#reads-and-health), 0.0 when none finished."""
        return self.success / self.finished if self.finished else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The ``summary`` object of ``wf runs --json``."""
        return {
            "total_runs": self.total_runs,
            "success": self.success,
            "failed": self.failed,
            "running": self.running,
            "cancelled": self.cancelled,
            "interrupted": self.interrupted,
            "success_rate": round(self.success_rate, 3),
            "avg_duration_ms": self.avg_duration_ms,
            "total_duration_ms": self.total_duration_ms,
            "avg_tasks": self.avg_tasks,
        }


@dataclass(slots=True)
class WorkflowStats:
    """Run counts of one workflow (``wf list --detailed``, docs/cli.md#wf-list)."""

    workflow_name: str
    total_runs: int = 0
    success_count: int = 0
    failed_count: int = 0
    last_run: datetime | None = None
