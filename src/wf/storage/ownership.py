"""Store ownership: resume claims, heartbeats and the interruption sweep (docs/resume.md)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeAlias

from wf.storage import procinfo
from wf.storage.base import StoreBase
from wf.storage.models import Run
from wf.storage.queries import ACTIVE_STATUSES_SQL, UNFINISHED_STATES_SQL
from wf.storage.rows import INSERT_AUDIT, RUN_COLUMNS, dump_json, run_from_row
from wf.storage.schema import next_time_sql
from wf.storage.times import format_optional, format_time, now_utc


def _touched(now_param: str) -> str:
    return "updated_at = " + next_time_sql("updated_at", now_param)


_CLAIM_RUN = (
    "UPDATE runs SET status = 'resuming', resume_count = resume_count + 1, "
    "last_resume_time = ?1, owner_pid = ?2, owner_host = ?3, owner_started_at = ?4, "
    "heartbeat_at = ?1, end_time = NULL, duration_ms = NULL, error_message = NULL, "
    f"failed_task = NULL, {_touched('?1')} "
    "WHERE id = ?5 AND status IN ('failed', 'cancelled', 'interrupted')"
)
_HEARTBEAT = (
    f"UPDATE runs SET heartbeat_at = ?1, {_touched('?1')} "
    f"WHERE id = ?2 AND status IN {ACTIVE_STATUSES_SQL}"
)
_SWEEP_CANDIDATES = (
    f"SELECT {RUN_COLUMNS} FROM runs "
    f"WHERE status IN {ACTIVE_STATUSES_SQL} AND owner_host = ? AND owner_pid IS NOT NULL"
)
# updated_at changes with every UPDATE of the row, so it doubles as a version token: the sweep
# only applies if nothing (heartbeat, another sweep, a claim) touched the run since it was read.
_INTERRUPT_RUN = (
    "UPDATE runs SET status = 'interrupted', end_time = ?1, duration_ms = ?2, "
    f"error_message = ?3, {_touched('?4')} "
    f"WHERE id = ?5 AND status IN {ACTIVE_STATUSES_SQL} AND updated_at = ?6"
)
_INTERRUPT_TASKS = (
    "UPDATE task_executions SET state = 'cancelled', end_time = ?1, "
    "duration_ms = CASE WHEN start_time IS NULL THEN duration_ms ELSE "
    "MAX(0, CAST(ROUND((julianday(?1) - julianday(start_time)) * 86400000.0) AS INTEGER)) END, "
    f"error_message = ?2, {_touched('?3')} "
    f"WHERE run_id = ?4 AND state IN {UNFINISHED_STATES_SQL}"
)


def _ms(delta: timedelta) -> int:
    return max(0, round(delta.total_seconds() * 1000))


#: Decides whether the owner process of a running run is still alive.
ProcessAlive: TypeAlias = Callable[[Run], bool]


class StoreOwnership(StoreBase):
    """Ownership methods of ``Store``."""

    def claim_run_for_resume(
        self,
        run_id: str,
        *,
        owner_pid: int | None = None,
        owner_host: str | None = None,
        owner_started_at: datetime | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Claim a resumable run (docs/resume.md#what-a-resume-does) with one conditional UPDATE;
        False if its status is no longer failed/cancelled/interrupted. Owner fields default to
        this process."""
        if owner_pid is None:
            owner_pid, default_host, default_started = procinfo.current_owner()
            owner_host = owner_host or default_host
            owner_started_at = owner_started_at or default_started
        owner_host = owner_host or procinfo.hostname()
        stamp = format_time(now or now_utc())
        params = (stamp, owner_pid, owner_host, format_optional(owner_started_at), run_id)
        with self._use() as conn:
            return conn.execute(_CLAIM_RUN, params).rowcount == 1

    def update_heartbeat(self, run_id: str, now: datetime | None = None) -> bool:
        """Set heartbeat_at while the run is running/resuming; False once it is not."""
        with self._use() as conn:
            cursor = conn.execute(_HEARTBEAT, (format_time(now or now_utc()), run_id))
        return cursor.rowcount == 1

    def mark_interrupted_runs(
        self,
        *,
        host: str | None = None,
        process_alive: ProcessAlive | None = None,
        now: datetime | None = None,
    ) -> list[str]:
        """Mark the running/resuming runs of this HOST whose owner process is gone as
        interrupted (docs/resume.md#interruption-detection); return their IDs. One transaction per
        run, applied only if the run was not touched since it was read, so concurrent sweeps are
        safe.

        ``process_alive(run)`` decides liveness (default: ``procinfo.owner_gone``).
        """
        host = host or procinfo.hostname()
        rows = self._all(_SWEEP_CANDIDATES, (host,))
        if not rows:
            return []
        swept: list[str] = []
        checked_at = now or now_utc()
        for row in rows:
            run = run_from_row(row)
            assert run.owner_pid is not None
            if process_alive is not None:
                alive = process_alive(run)
            else:
                alive = not procinfo.owner_gone(
                    run.owner_pid,
                    run.owner_started_at,
                    run.heartbeat_at or run.start_time,
                    now=checked_at,
                )
            if alive:
                continue
            if self._interrupt(run, version=row[25], detected_by=os.getpid()):
                swept.append(run.id)
        return swept

    def _interrupt(self, run: Run, *, version: str, detected_by: int) -> bool:
        assert run.start_time is not None
        end = run.heartbeat_at or run.start_time
        end_text = format_time(end)
        message = f"interrupted: wf process {run.owner_pid} on {run.owner_host} is gone"
        data = {
            "owner_pid": run.owner_pid,
            "owner_host": run.owner_host,
            "last_heartbeat": format_optional(run.heartbeat_at),
            "detected_by_pid": detected_by,
        }
        duration = _ms(end - run.start_time)
        with self.transaction(), self._use() as conn:
            now = format_time(now_utc())
            params = (end_text, duration, message, now, run.id, version)
            if conn.execute(_INTERRUPT_RUN, params).rowcount != 1:
                return False
            conn.execute(_INTERRUPT_TASKS, (end_text, message, now, run.id))
            conn.execute(INSERT_AUDIT, (run.id, "run_interrupted", dump_json(data), now))
        return True
