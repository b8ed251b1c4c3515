"""Store reads: listings, latest rows per node and variable, summaries, health.

See docs/storage.md#reads-and-health.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from wf.stats import median
from wf.storage.base import StoreBase
from wf.storage.models import (
    ContextSnapshot,
    DAGCache,
    ForensicLog,
    Run,
    RunStatus,
    TaskDependency,
    TaskExecution,
    TaskStatus,
)
from wf.storage.queries import ACTIVE_STATUSES_SQL, RUN_ORDERS, limit_clause, run_filters
from wf.storage.rows import (
    AUDIT_COLUMNS,
    DAG_CACHE_COLUMNS,
    DEPENDENCY_COLUMNS,
    FORENSIC_COLUMNS,
    RUN_COLUMNS,
    SNAPSHOT_COLUMNS,
    TASK_COLUMNS,
    audit_from_row,
    dag_cache_from_row,
    dependency_from_row,
    forensic_from_row,
    run_from_row,
    snapshot_from_row,
    task_from_row,
)
from wf.storage.schema import current_version
from wf.storage.times import format_time, now_utc, parse_time

if TYPE_CHECKING:
    from wf.storage.readrows import AuditEntry, RunSummary, WorkflowStats

_SUMMARY = (
    "SELECT COUNT(*), SUM(status = 'success'), SUM(status = 'failed'), SUM(status = 'running'), "
    "SUM(status = 'cancelled'), SUM(status = 'interrupted'), SUM(status = 'resuming'), "
    "SUM(status = 'pending'), AVG(duration_ms), SUM(duration_ms), AVG(total_tasks) FROM runs"
)


class StoreReads(StoreBase):
    """Read methods of ``Store``; run-ID arguments accept unique prefixes."""

    def list_runs(
        self,
        *,
        workflow: str | None = None,
        status: RunStatus | str | None = None,
        tag: str | None = None,
        start_after: datetime | None = None,
        start_before: datetime | None = None,
        limit: int = 0,
        offset: int = 0,
        min_duration_ms: int | None = None,
        sort: str = "time",
    ) -> list[Run]:
        """Runs matching every given filter, newest first; ``limit=0``: no limit.

        See docs/storage.md#reads-and-health.

        ``start_after`` is inclusive, ``start_before`` exclusive. ``sort`` is one of
        time, name, workflow, duration, tasks, status (ties: newest first).
        """
        rows = self.run_rows(
            RUN_COLUMNS,
            workflow=workflow,
            status=status,
            tag=tag,
            start_after=start_after,
            start_before=start_before,
            limit=limit,
            offset=offset,
            min_duration_ms=min_duration_ms,
            sort=sort,
        )
        return [run_from_row(r) for r in rows]

    def run_rows(
        self,
        columns: str,
        *,
        workflow: str | None = None,
        status: RunStatus | str | None = None,
        tag: str | None = None,
        start_after: datetime | None = None,
        start_before: datetime | None = None,
        limit: int = 0,
        offset: int = 0,
        min_duration_ms: int | None = None,
        sort: str = "time",
    ) -> list[tuple[Any, ...]]:
        """``list_runs`` as raw rows of COLUMNS (a list of ``runs`` columns, as SQL text): for
        listings that show a few fields of many runs (``wf runs --json -l 0``)."""
        order = RUN_ORDERS.get(sort)
        if order is None:
            raise ValueError(f"unknown sort key: {sort}")
        where, params = run_filters(
            workflow=workflow,
            status=status,
            tag=tag,
            start_after=start_after,
            start_before=start_before,
            min_duration_ms=min_duration_ms,
        )
        page, page_params = limit_clause(limit, offset)
        sql = f"SELECT {columns} FROM runs{where} ORDER BY {order}{page}"
        rows: list[tuple[Any, ...]] = self._all(sql, params + page_params)
        return rows

    def count_runs(
        self,
        *,
        workflow: str | None = None,
        status: RunStatus | str | None = None,
        tag: str | None = None,
        start_after: datetime | None = None,
        start_before: datetime | None = None,
        min_duration_ms: int | None = None,
    ) -> int:
        """How many runs ``list_runs`` with the same filters would return without a limit."""
        where, params = run_filters(
            workflow=workflow,
            status=status,
            tag=tag,
            start_after=start_after,
            start_before=start_before,
            min_duration_ms=min_duration_ms,
        )
        return int(self._one(f"SELECT COUNT(*) FROM runs{where}", params)[0])

    def run_summary(
        self,
        *,
        workflow: str | None = None,
        status: RunStatus | str | None = None,
        tag: str | None = None,
        start_after: datetime | None = None,
        start_before: datetime | None = None,
        min_duration_ms: int | None = None,
    ) -> RunSummary:
        """Counts by status, durations and tasks over all matching runs, computed in SQL."""
        where, params = run_filters(
            workflow=workflow,
            status=status,
            tag=tag,
            start_after=start_after,
            start_before=start_before,
            min_duration_ms=min_duration_ms,
        )
        row = self._one(_SUMMARY + where, params)
        total, success, failed, running, cancelled, interrupted, resuming, pending = (
            int(v or 0) for v in row[:8]
        )
        from wf.storage.readrows import RunSummary

        return RunSummary(
            total_runs=total,
            success=success,
            failed=failed,
            running=running,
            cancelled=cancelled,
            interrupted=interrupted,
            resuming=resuming,
            pending=pending,
            avg_duration_ms=round(row[8]) if row[8] is not None else 0,
            total_duration_ms=int(row[9] or 0),
            avg_tasks=float(row[10] or 0.0),
        )

    def task_durations(self, workflow_name: str, *, runs: int = 20) -> dict[str, float]:
        """Median seconds of each node's successful attempts in the newest RUNS runs of a
        workflow (forensic rows excluded): the history critical-path scheduling weighs by."""
        rows = self._all(
            "SELECT te.task_id, te.duration_ms FROM task_executions te JOIN ("
            "SELECT id FROM runs WHERE workflow_name = ? ORDER BY start_time DESC, id DESC "
            "LIMIT ?) r ON te.run_id = r.id "
            "WHERE te.state = 'success' AND te.is_forensic = 0 AND te.duration_ms IS NOT NULL",
            (workflow_name, runs),
        )
        samples: dict[str, list[int]] = {}
        for task_id, duration_ms in rows:
            samples.setdefault(task_id, []).append(int(duration_ms))
        return {task: median(values) / 1000.0 for task, values in samples.items()}

    def workflow_stats(self) -> dict[str, WorkflowStats]:
        """Per workflow name: total, success and failed run counts and the newest start."""
        from wf.storage.readrows import WorkflowStats

        rows = self._all(
            "SELECT workflow_name, COUNT(*), SUM(status = 'success'), SUM(status = 'failed'), "
            "MAX(start_time) FROM runs GROUP BY workflow_name ORDER BY workflow_name"
        )
        return {
            r[0]: WorkflowStats(r[0], int(r[1]), int(r[2] or 0), int(r[3] or 0), parse_time(r[4]))
            for r in rows
        }

    def list_task_executions(
        self,
        *,
        run_id: str | None = None,
        task_id: str | None = None,
        state: TaskStatus | str | None = None,
        limit: int = 0,
        offset: int = 0,
    ) -> list[TaskExecution]:
        """Attempt rows matching the filters, by created_at then id (insertion order)."""
        clauses: list[str] = []
        params: list[Any] = []
        if run_id is not None:
            clauses.append("run_id = ?")
            params.append(self.resolve_run_id(run_id))
        if task_id is not None:
            clauses.append("task_id = ?")
            params.append(task_id)
        if state is not None:
            clauses.append("state = ?")
            params.append(str(state))
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        page, page_params = limit_clause(limit, offset)
        sql = f"SELECT {TASK_COLUMNS} FROM task_executions{where} ORDER BY created_at, id{page}"
        return [task_from_row(r) for r in self._all(sql, params + page_params)]

    def latest_task_executions(
        self, run_id: str, *, include_forensic: bool = True
    ) -> list[TaskExecution]:
        """The latest row (highest id) of each task_id in the run, in created_at, id order."""
        forensic = "" if include_forensic else " AND is_forensic = 0"
        sql = (
            f"SELECT {TASK_COLUMNS} FROM task_executions WHERE id IN (SELECT MAX(id) FROM "
            f"task_executions WHERE run_id = ?{forensic} GROUP BY task_id) ORDER BY created_at, id"
        )
        return [task_from_row(r) for r in self._all(sql, (self.resolve_run_id(run_id),))]

    def list_context_snapshots(
        self,
        *,
        run_id: str | None = None,
        variable_name: str | None = None,
        snapshot_type: str | None = None,
    ) -> list[ContextSnapshot]:
        """Snapshot rows matching the filters, newest first (snapshot_time, then id)."""
        clauses: list[str] = []
        params: list[Any] = []
        if run_id is not None:
            clauses.append("run_id = ?")
            params.append(self.resolve_run_id(run_id))
        if variable_name is not None:
            clauses.append("variable_name = ?")
            params.append(variable_name)
        if snapshot_type is not None:
            clauses.append("snapshot_type = ?")
            params.append(snapshot_type)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        sql = (
            f"SELECT {SNAPSHOT_COLUMNS} FROM context_snapshots{where} "
            "ORDER BY snapshot_time DESC, id DESC"
        )
        return [snapshot_from_row(r) for r in self._all(sql, params)]

    def latest_variables(self, run_id: str) -> list[ContextSnapshot]:
        """Each variable's newest snapshot row (by snapshot_time, then id), sorted by name."""
        sql = (
            f"SELECT {SNAPSHOT_COLUMNS} FROM (SELECT {SNAPSHOT_COLUMNS}, ROW_NUMBER() OVER "
            "(PARTITION BY variable_name ORDER BY snapshot_time DESC, id DESC) AS rn "
            "FROM context_snapshots WHERE run_id = ?) WHERE rn = 1 ORDER BY variable_name"
        )
        return [snapshot_from_row(r) for r in self._all(sql, (self.resolve_run_id(run_id),))]

    def list_audit_trail(
        self, *, run_id: str | None = None, event_type: str | None = None
    ) -> list[AuditEntry]:
        """Audit entries matching the filters, in insertion order (created_at, then id)."""
        clauses: list[str] = []
        params: list[Any] = []
        if run_id is not None:
            clauses.append("run_id = ?")
            params.append(self.resolve_run_id(run_id))
        if event_type is not None:
            clauses.append("event_type = ?")
            params.append(event_type)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        sql = f"SELECT {AUDIT_COLUMNS} FROM audit_trail{where} ORDER BY created_at, id"
        return [audit_from_row(r) for r in self._all(sql, params)]

    def list_forensic_logs(self, *, run_id: str | None = None) -> list[ForensicLog]:
        """Forensic log rows, oldest first."""
        where = "" if run_id is None else " WHERE run_id = ?"
        params = [] if run_id is None else [self.resolve_run_id(run_id)]
        sql = f"SELECT {FORENSIC_COLUMNS} FROM forensic_logs{where} ORDER BY created_at, id"
        return [forensic_from_row(r) for r in self._all(sql, params)]

    def list_task_dependencies(self, run_id: str) -> list[TaskDependency]:
        """The run's dependency edges, in insertion order."""
        sql = f"SELECT {DEPENDENCY_COLUMNS} FROM task_dependencies WHERE run_id = ? ORDER BY id"
        return [dependency_from_row(r) for r in self._all(sql, (self.resolve_run_id(run_id),))]

    def get_dag_cache(self, run_id: str) -> DAGCache | None:
        """The run's cached graph, or None."""
        sql = f"SELECT {DAG_CACHE_COLUMNS} FROM dag_cache WHERE run_id = ?"
        row = self._one(sql, (self.resolve_run_id(run_id),))
        return None if row is None else dag_cache_from_row(row)

    # -- change feeds (the web UI's live updates) -------------------------------------------

    def latest_run_update(self) -> str | None:
        """The newest ``updated_at`` of any run (stored form), or None without runs."""
        row = self._one("SELECT MAX(updated_at) FROM runs")
        return None if row is None or row[0] is None else str(row[0])

    def runs_updated_since(self, updated_at: str) -> list[Run]:
        """Runs whose ``updated_at`` is at or after UPDATED_AT (stored form), oldest first."""
        sql = f"SELECT {RUN_COLUMNS} FROM runs WHERE updated_at >= ? ORDER BY updated_at, id"
        return [run_from_row(r) for r in self._all(sql, (updated_at,))]

    def task_activity(self, run_ids: list[str]) -> dict[str, tuple[int, str]]:
        """Per run ID (full IDs): its attempt-row count and newest row ``updated_at``; a change
        of either means some attempt of that run was added or changed."""
        if not run_ids:
            return {}
        marks = ", ".join("?" for _ in run_ids)
        rows = self._all(
            "SELECT run_id, COUNT(*), MAX(updated_at) FROM task_executions "
            f"WHERE run_id IN ({marks}) GROUP BY run_id",
            run_ids,
        )
        return {str(r[0]): (int(r[1]), str(r[2])) for r in rows}

    # -- health -----------------------------------------------------------------------------

    def db_size_bytes(self) -> int:
        """page_count × page_size (> 0 even for a fresh database)."""
        with self._use() as conn:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            size = conn.execute("PRAGMA page_size").fetchone()[0]
        return int(pages) * int(size)

    def run_success_rate(self, days: float, *, now: datetime | None = None) -> float:
        """success ÷ (success + failed + cancelled + interrupted) over runs started in the last
        DAYS days; −1.0 when there are none."""
        since = format_time((now or now_utc()) - timedelta(days=days))
        row = self._one(
            "SELECT SUM(status = 'success'), "
            "SUM(status IN ('success', 'failed', 'cancelled', 'interrupted')) "
            "FROM runs WHERE start_time >= ?",
            (since,),
        )
        finished = int(row[1] or 0)
        return int(row[0] or 0) / finished if finished else -1.0

    def stale_run_count(self, minutes: float, *, now: datetime | None = None) -> int:
        """Runs in running/resuming whose heartbeat (else start time) is older than MINUTES."""
        before = format_time((now or now_utc()) - timedelta(minutes=minutes))
        row = self._one(
            f"SELECT COUNT(*) FROM runs WHERE status IN {ACTIVE_STATUSES_SQL} "
            "AND COALESCE(heartbeat_at, start_time) < ?",
            (before,),
        )
        return int(row[0])

    def schema_version(self) -> int:
        """The highest applied migration."""
        with self._use() as conn:
            return current_version(conn)

    def quick_check(self) -> list[str]:
        """``PRAGMA quick_check`` messages; ``["ok"]`` for a sound database."""
        return [str(r[0]) for r in self._all("PRAGMA quick_check")]
