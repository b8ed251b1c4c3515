"""Health helpers: success rate, stale runs, size, integrity.

See docs/storage.md#reads-and-health, docs/cli.md#wf-health.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from wf.storage import Run, RunStatus, Store
from wf.storage.schema import LATEST_VERSION

NewRun = Callable[..., Run]

NOW = datetime(2026, 3, 13, 12, 0, 0, tzinfo=UTC)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def test_success_rate_is_minus_one_without_finished_runs(store: Store, new_run: NewRun) -> None:
    assert store.run_success_rate(7, now=NOW) == -1.0
    new_run(start_time=ago(hours=1))  # running: not finished
    new_run(start_time=ago(days=30), status=RunStatus.SUCCESS)  # outside the window
    assert store.run_success_rate(7, now=NOW) == -1.0


def test_one_success_and_one_failure_give_exactly_one_half(store: Store, new_run: NewRun) -> None:
    new_run(start_time=ago(hours=1), status=RunStatus.SUCCESS)
    new_run(start_time=ago(hours=2), status=RunStatus.FAILED)
    assert store.run_success_rate(7, now=NOW) == 0.5


def test_success_rate_counts_cancelled_and_interrupted_as_unsuccessful(
    store: Store, new_run: NewRun
) -> None:
    new_run(start_time=ago(hours=1), status=RunStatus.SUCCESS)
    new_run(start_time=ago(hours=1), status=RunStatus.CANCELLED)
    new_run(start_time=ago(hours=1), status=RunStatus.INTERRUPTED)
    new_run(start_time=ago(hours=1), status=RunStatus.SUCCESS)
    assert store.run_success_rate(1, now=NOW) == 0.5


def test_stale_runs_are_active_runs_with_an_old_heartbeat(store: Store, new_run: NewRun) -> None:
    new_run(start_time=ago(hours=2), heartbeat_at=ago(minutes=45))  # stale
    new_run(start_time=ago(hours=2), heartbeat_at=ago(minutes=1))  # fresh
    new_run(start_time=ago(hours=2), status=RunStatus.RESUMING)  # no heartbeat: start time
    new_run(start_time=ago(minutes=5))  # no heartbeat, recent start
    new_run(start_time=ago(hours=5), heartbeat_at=ago(hours=4), status=RunStatus.SUCCESS)
    assert store.stale_run_count(30, now=NOW) == 2


def test_no_stale_runs_after_runs_finished_normally(store: Store, new_run: NewRun) -> None:
    for status in (RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED):
        new_run(start_time=ago(days=1), heartbeat_at=ago(days=1), status=status)
    assert store.stale_run_count(30, now=NOW) == 0


def test_fresh_database_has_a_size_passes_quick_check_and_reports_version(store: Store) -> None:
    assert store.db_size_bytes() > 0
    assert store.db_size_bytes() % 4096 == 0
    assert store.quick_check() == ["ok"]
    assert store.schema_version() == LATEST_VERSION
    store.ping()
