"""Store writes: runs, attempts, snapshots, audit, forensic logs, graph records.

See docs/storage.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from wf.secrets import mask_params
from wf.storage.base import StoreBase
from wf.storage.errors import RunNotFoundError, StoreError
from wf.storage.ids import new_run_id
from wf.storage.models import (
    ContextSnapshot,
    DAGCache,
    ForensicLog,
    Run,
    TaskDependency,
    TaskExecution,
)
from wf.storage.rows import (
    INSERT_AUDIT,
    INSERT_DEPENDENCY,
    INSERT_FORENSIC,
    INSERT_RUN,
    INSERT_SNAPSHOT,
    INSERT_TASK,
    UPDATE_RUN,
    UPDATE_TASK,
    UPSERT_DAG_CACHE,
    dump_json,
    run_params,
    task_params,
)
from wf.storage.times import format_optional, format_time, now_utc


class StoreWrites(StoreBase):
    """Write methods of ``Store``; they take full run IDs."""

    def create_run(self, run: Run) -> str:
        """Insert RUN and return its ID. An empty ``id`` gets a new one and a missing
        ``start_time`` the current time (both are set on RUN). Counters are left to triggers."""
        if not run.id:
            run.id = new_run_id()
        now = now_utc()
        if run.start_time is None:
            run.start_time = now
        created = format_time(run.created_at or now)
        params = (run.id, *run_params(run), created, format_optional(run.updated_at) or created)
        with self._use() as conn:
            conn.execute(INSERT_RUN, mask_params(params))
        return run.id

    def update_run(self, run: Run) -> None:
        """Write every column of RUN except the counters (trigger-maintained) and created_at.
        Re-read the run after a claim before updating it: this writes the object as it is."""
        with self._use() as conn:
            cursor = conn.execute(
                UPDATE_RUN, mask_params((*run_params(run), format_time(now_utc()), run.id))
            )
        if cursor.rowcount == 0:
            raise RunNotFoundError(run.id)

    def create_task_execution(self, te: TaskExecution) -> int:
        """Insert an attempt row and return its ID (also set on TE)."""
        created = format_time(te.created_at or now_utc())
        params = (te.run_id, *task_params(te), created, format_optional(te.updated_at) or created)
        with self._use() as conn:
            row_id = conn.execute(INSERT_TASK, mask_params(params)).lastrowid
        te.id = int(row_id or 0)
        return te.id

    def update_task_execution(self, te: TaskExecution) -> None:
        """Write every column of TE except its identity (id, run_id, task_id) and created_at."""
        params = (*task_params(te)[1:], format_time(now_utc()), te.id)
        with self._use() as conn:
            cursor = conn.execute(UPDATE_TASK, mask_params(params))
        if cursor.rowcount == 0:
            raise StoreError(f"task execution {te.id} not found")

    def create_context_snapshots(self, rows: Iterable[ContextSnapshot]) -> int:
        """Insert snapshot rows in one transaction; return how many. Missing times are now."""
        now = format_time(now_utc())
        params = [
            (
                r.run_id,
                format_optional(r.snapshot_time) or now,
                r.snapshot_type,
                r.variable_name,
                r.variable_value,
                r.variable_type,
                r.set_by_task,
                format_optional(r.set_at) or now,
                int(bool(r.is_read_only)),
                format_optional(r.created_at) or now,
            )
            for r in rows
        ]
        if not params:
            return 0
        with self.transaction(), self._use() as conn:
            conn.executemany(INSERT_SNAPSHOT, [mask_params(p) for p in params])
        return len(params)

    def create_audit_entry(
        self, run_id: str, event_type: str, event_data: str | Mapping[str, Any]
    ) -> int:
        """Append an audit entry and return its ID. A string is stored byte for byte; a
        mapping is stored as compact JSON."""
        data = event_data if isinstance(event_data, str) else dump_json(dict(event_data))
        now = format_time(now_utc())
        with self._use() as conn:
            row_id = conn.execute(
                INSERT_AUDIT, mask_params((run_id, event_type, data, now))
            ).lastrowid
        return int(row_id or 0)

    def create_audit_entries(self, entries: Sequence[tuple[str, str, str]]) -> None:
        """Append audit entries ``(run_id, event_type, event_data)`` in order, in one
        statement (event data stored byte for byte)."""
        now = format_time(now_utc())
        with self._use() as conn:
            conn.executemany(INSERT_AUDIT, [mask_params((*entry, now)) for entry in entries])

    def create_forensic_log(
        self,
        log: ForensicLog | str,
        log_type: str | None = None,
        log_data: str | None = None,
        *,
        task_id: str | None = None,
        triggered_by: str | None = None,
        trigger_reason: str | None = None,
    ) -> int:
        """Insert a forensic log and return its ID: either a ForensicLog, or
        ``(run_id, log_type, log_data, *, task_id, triggered_by, trigger_reason)``."""
        if isinstance(log, str):
            if log_type is None or log_data is None:
                raise TypeError("create_forensic_log(run_id, ...) needs log_type and log_data")
            log = ForensicLog(
                run_id=log,
                task_id=task_id,
                log_type=log_type,
                log_data=log_data,
                triggered_by=triggered_by,
                trigger_reason=trigger_reason,
            )
        params = (
            log.run_id,
            log.task_id,
            log.log_type,
            log.log_data,
            log.triggered_by,
            log.trigger_reason,
            format_time(log.created_at or now_utc()),
        )
        with self._use() as conn:
            row_id = conn.execute(INSERT_FORENSIC, mask_params(params)).lastrowid
        log.id = int(row_id or 0)
        return log.id

    def upsert_dag_cache(
        self,
        cache: DAGCache | str,
        dag_json: str | None = None,
        *,
        total_nodes: int = 0,
        total_levels: int = 0,
        has_parallel_tasks: bool = False,
    ) -> None:
        """Insert or replace the run's graph: either a DAGCache, or
        ``(run_id, dag_json, *, total_nodes, total_levels, has_parallel_tasks)``."""
        if isinstance(cache, str):
            if dag_json is None:
                raise TypeError("upsert_dag_cache(run_id, ...) needs dag_json")
            cache = DAGCache(
                run_id=cache,
                dag_json=dag_json,
                total_nodes=total_nodes,
                total_levels=total_levels,
                has_parallel_tasks=has_parallel_tasks,
            )
        params = (
            cache.run_id,
            cache.dag_json,
            cache.total_nodes,
            cache.total_levels,
            int(bool(cache.has_parallel_tasks)),
            format_time(now_utc()),
        )
        with self._use() as conn:
            conn.execute(UPSERT_DAG_CACHE, mask_params(params))

    def replace_task_dependencies(
        self, run_id: str, edges: Iterable[tuple[str, str] | TaskDependency]
    ) -> int:
        """Replace the run's edges, each ``(task_id, depends_on_task_id)`` or a TaskDependency,
        in one transaction; return how many were inserted."""
        params: list[tuple[Any, ...]] = []
        for edge in edges:
            if isinstance(edge, TaskDependency):
                params.append(
                    (
                        run_id,
                        edge.task_id,
                        edge.depends_on_task_id,
                        int(edge.dependency_satisfied),
                        format_optional(edge.satisfied_at),
                    )
                )
            else:
                params.append((run_id, edge[0], edge[1], 0, None))
        with self.transaction(), self._use() as conn:
            conn.execute("DELETE FROM task_dependencies WHERE run_id = ?", (run_id,))
            conn.executemany(INSERT_DEPENDENCY, params)
        return len(params)

    def mark_dependency_satisfied(
        self,
        run_id: str,
        task_id: str,
        depends_on: str | None = None,
        *,
        now: datetime | None = None,
    ) -> int:
        """Mark the edge DEPENDS_ON -> TASK_ID satisfied (None: every incoming edge of
        TASK_ID). Edges already satisfied keep their time. Returns how many rows changed."""
        sql = (
            "UPDATE task_dependencies SET dependency_satisfied = 1, satisfied_at = ? "
            "WHERE run_id = ? AND task_id = ? AND dependency_satisfied = 0"
        )
        params: list[Any] = [format_time(now or now_utc()), run_id, task_id]
        if depends_on is not None:
            sql += " AND depends_on_task_id = ?"
            params.append(depends_on)
        with self._use() as conn:
            return int(conn.execute(sql, params).rowcount)
