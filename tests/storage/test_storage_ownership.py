"""Ownership: resume claims, heartbeats, and the interruption sweep (docs/resume.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from wf.storage import Run, RunStatus, Store, TaskExecution, TaskStatus, procinfo

NewRun = Callable[..., Run]
NewTask = Callable[..., TaskExecution]

HOST = procinfo.hostname()
NOW = datetime(2026, 3, 13, 12, 0, 0, tzinfo=UTC)
HEARTBEAT = NOW - timedelta(seconds=40)
START = NOW - timedelta(minutes=5)
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def owned(new_run: NewRun, **fields: object) -> Run:
    values: dict[str, object] = {
        "start_time": START,
        "heartbeat_at": HEARTBEAT,
        "owner_pid": 999_999_999,
        "owner_host": HOST,
        "owner_started_at": START - timedelta(seconds=1),
    }
    values.update(fields)
    return new_run(**values)


def gone(_run: Run) -> bool:
    return False


# -- claim -----------------------------------------------------------------------------------


def test_claim_succeeds_once_and_installs_the_new_owner(store: Store, new_run: NewRun) -> None:
    run = new_run(status=RunStatus.FAILED, end_time=NOW, duration_ms=5, error="boom",
                  failed_task="a", owner_pid=1, owner_host="old")  # fmt: skip
    claimed = store.claim_run_for_resume(
        run.id, owner_pid=77, owner_host="new", owner_started_at=START, now=NOW
    )
    assert claimed
    got = store.get_run(run.id)
    assert got.status is RunStatus.RESUMING
    assert got.resume_count == 1
    assert got.last_resume_time == NOW
    assert (got.owner_pid, got.owner_host, got.owner_started_at) == (77, "new", START)
    assert got.heartbeat_at == NOW
    assert (got.end_time, got.duration_ms, got.error, got.failed_task) == (None, None, None, None)
    assert got.id == run.id
    assert not store.claim_run_for_resume(run.id, owner_pid=78, owner_host="new", now=NOW)
    assert store.get_run(run.id).owner_pid == 77


@pytest.mark.parametrize("status", [RunStatus.RUNNING, RunStatus.SUCCESS, RunStatus.RESUMING])
def test_runs_that_are_not_resumable_cannot_be_claimed(
    store: Store, new_run: NewRun, status: RunStatus
) -> None:
    run = new_run(status=status)
    assert not store.claim_run_for_resume(run.id)
    assert store.get_run(run.id).status is status


def test_claim_defaults_to_this_process_as_owner(store: Store, new_run: NewRun) -> None:
    run = new_run(status=RunStatus.INTERRUPTED)
    assert store.claim_run_for_resume(run.id)
    got = store.get_run(run.id)
    assert (got.owner_pid, got.owner_host) == (os.getpid(), HOST)


def test_concurrent_claims_let_exactly_one_resume_proceed(
    store: Store, new_run: NewRun, db_path: Path
) -> None:
    run = new_run(status=RunStatus.CANCELLED)
    stores = [Store(db_path) for _ in range(4)]
    results: list[bool] = []
    barrier = threading.Barrier(len(stores))

    def claim(s: Store, pid: int) -> None:
        barrier.wait()
        results.append(s.claim_run_for_resume(run.id, owner_pid=pid, owner_host=HOST))

    threads = [threading.Thread(target=claim, args=(s, n)) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert sorted(results) == [False, False, False, True]
    assert store.get_run(run.id).resume_count == 1


# -- heartbeat -------------------------------------------------------------------------------


def test_heartbeat_updates_active_runs_only(store: Store, new_run: NewRun) -> None:
    run = new_run()
    assert store.update_heartbeat(run.id, NOW)
    assert store.get_run(run.id).heartbeat_at == NOW
    run = store.get_run(run.id)
    run.status = RunStatus.SUCCESS
    store.update_run(run)
    assert not store.update_heartbeat(run.id, NOW + timedelta(seconds=2))
    assert store.get_run(run.id).heartbeat_at == NOW


# -- interruption sweep ----------------------------------------------------------------------


def test_sweep_interrupts_a_run_whose_owner_is_gone(
    store: Store, new_run: NewRun, new_task: NewTask
) -> None:
    run = owned(new_run)
    new_task(run.id, "done", state=TaskStatus.SUCCESS)
    busy = new_task(run.id, "busy", start_time=HEARTBEAT - timedelta(seconds=2))
    waiting = new_task(run.id, "waiting", state=TaskStatus.PENDING)

    assert store.mark_interrupted_runs(process_alive=gone, now=NOW) == [run.id]

    got = store.get_run(run.id)
    assert got.status is RunStatus.INTERRUPTED
    assert got.end_time == HEARTBEAT
    assert got.duration_ms == 260_000
    message = f"interrupted: wf process 999999999 on {HOST} is gone"
    assert got.error == message
    rows = {t.task_id: t for t in store.list_task_executions(run_id=run.id)}
    assert rows["done"].state is TaskStatus.SUCCESS
    assert rows["done"].error_message is None
    for te in (busy, waiting):
        row = rows[te.task_id]
        assert row.state is TaskStatus.CANCELLED
        assert row.end_time == HEARTBEAT
        assert row.error_message == message
    assert rows["busy"].duration_ms == 2000
    assert rows["waiting"].duration_ms is None
    assert got.tasks_success == 1  # cancelled rows are not counted
    (entry,) = store.list_audit_trail(run_id=run.id, event_type="run_interrupted")
    assert json.loads(entry.event_data) == {
        "owner_pid": 999_999_999,
        "owner_host": HOST,
        "last_heartbeat": "2026-03-13T11:59:20.000000Z",
        "detected_by_pid": os.getpid(),
    }


def test_sweep_uses_start_time_when_there_was_no_heartbeat(store: Store, new_run: NewRun) -> None:
    run = owned(new_run, heartbeat_at=None)
    assert store.mark_interrupted_runs(process_alive=gone) == [run.id]
    got = store.get_run(run.id)
    assert got.end_time == START
    assert got.duration_ms == 0
    (entry,) = store.list_audit_trail(run_id=run.id)
    assert json.loads(entry.event_data)["last_heartbeat"] is None


def test_sweep_is_idempotent(store: Store, new_run: NewRun) -> None:
    run = owned(new_run, status=RunStatus.RESUMING)
    assert store.mark_interrupted_runs(process_alive=gone) == [run.id]
    assert store.mark_interrupted_runs(process_alive=gone) == []
    assert len(store.list_audit_trail(run_id=run.id)) == 1


def test_sweep_never_touches_other_hosts_or_runs_without_owner(
    store: Store, new_run: NewRun
) -> None:
    elsewhere = owned(new_run, owner_host="some-other-host")
    ownerless = new_run(start_time=START, heartbeat_at=HEARTBEAT)
    hostless = owned(new_run, owner_host=None)
    finished = owned(new_run, status=RunStatus.FAILED)
    assert store.mark_interrupted_runs(process_alive=gone, now=NOW) == []
    for run in (elsewhere, ownerless, hostless):
        assert store.get_run(run.id).status is RunStatus.RUNNING
    assert store.get_run(finished.id).status is RunStatus.FAILED
    assert store.mark_interrupted_runs(host="some-other-host", process_alive=gone) == [elsewhere.id]


def test_sweep_leaves_runs_whose_owner_is_alive(store: Store, new_run: NewRun) -> None:
    run = owned(new_run)
    assert store.mark_interrupted_runs(process_alive=lambda r: True) == []
    assert store.get_run(run.id).status is RunStatus.RUNNING


def test_sweep_skips_a_run_that_changed_while_being_checked(store: Store, new_run: NewRun) -> None:
    run = owned(new_run)

    def heartbeat_arrives(r: Run) -> bool:
        store.update_heartbeat(r.id, NOW)  # the owner is alive after all
        return False

    assert store.mark_interrupted_runs(process_alive=heartbeat_arrives) == []
    assert store.get_run(run.id).status is RunStatus.RUNNING


def test_sweep_detects_a_dead_owner_pid(store: Store, new_run: NewRun) -> None:
    run = owned(new_run, owner_pid=dead_pid(), heartbeat_at=datetime.now(UTC))
    assert store.mark_interrupted_runs() == [run.id]


@linux_only
def test_sweep_detects_a_reused_pid_by_its_start_time(store: Store, new_run: NewRun) -> None:
    started = procinfo.process_start_time(os.getpid())
    assert started is not None
    live = owned(new_run, owner_pid=os.getpid(), owner_started_at=started)
    reused = owned(new_run, owner_pid=os.getpid(), owner_started_at=started - timedelta(hours=1))
    assert store.mark_interrupted_runs() == [reused.id]
    assert store.get_run(live.id).status is RunStatus.RUNNING


def test_sweep_with_no_active_runs_is_a_single_query(store: Store, new_run: NewRun) -> None:
    for _ in range(3):
        owned(new_run, status=RunStatus.SUCCESS)
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    try:
        assert store.mark_interrupted_runs() == []
    finally:
        store._conn.set_trace_callback(None)
    assert len(statements) == 1
    plan = store._conn.execute(
        "EXPLAIN QUERY PLAN " + statements[0].replace(f"'{HOST}'", "?"), (HOST,)
    ).fetchall()
    assert any("idx_runs_status" in str(row) for row in plan)


def test_concurrent_sweeps_interrupt_each_run_once(
    store: Store, new_run: NewRun, db_path: Path
) -> None:
    runs = [owned(new_run) for _ in range(5)]
    stores = [Store(db_path) for _ in range(3)]
    swept: list[str] = []
    barrier = threading.Barrier(len(stores))

    def sweep(s: Store) -> None:
        barrier.wait()
        swept.extend(s.mark_interrupted_runs(process_alive=gone))

    threads = [threading.Thread(target=sweep, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert sorted(swept) == sorted(r.id for r in runs)
    assert len(store.list_audit_trail(event_type="run_interrupted")) == 5


# -- process identity ------------------------------------------------------------------------


def test_owner_gone_rules() -> None:
    started = NOW - timedelta(hours=1)
    fresh, stale = NOW - timedelta(seconds=5), NOW - timedelta(seconds=31)

    def exists(_pid: int) -> bool:
        return True

    def starts_at(when: datetime | None) -> Callable[[int], datetime | None]:
        return lambda _pid: when

    def gone_if(
        start: Callable[[int], datetime | None],
        *,
        seen: datetime = fresh,
        alive: Callable[[int], bool] = exists,
        recorded: datetime | None = started,
    ) -> bool:
        return procinfo.owner_gone(1, recorded, seen, now=NOW, exists=alive, start_time=start)

    assert not gone_if(starts_at(started))
    assert gone_if(starts_at(started), alive=lambda _pid: False)
    assert not gone_if(starts_at(started + timedelta(seconds=0.9)))
    assert gone_if(starts_at(started + timedelta(seconds=1.5)))  # the PID was reused
    # Start time unknown (platform or record): only a stale heartbeat means gone.
    assert not gone_if(starts_at(None))
    assert gone_if(starts_at(None), seen=stale)
    assert gone_if(starts_at(started), seen=stale, recorded=None)
    assert not gone_if(starts_at(started), recorded=None)


def test_pid_exists_for_live_dead_and_invalid_pids() -> None:
    assert procinfo.pid_exists(os.getpid())
    assert not procinfo.pid_exists(dead_pid())
    assert not procinfo.pid_exists(0)
    assert not procinfo.pid_exists(-5)


@linux_only
def test_a_zombie_owner_counts_as_gone() -> None:
    proc = subprocess.Popen(["true"])
    try:
        deadline = time.monotonic() + 10
        while procinfo.pid_exists(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not procinfo.pid_exists(proc.pid)
    finally:
        proc.wait()


@linux_only
def test_process_start_time_of_a_new_child_is_now() -> None:
    before = datetime.now(UTC)
    proc = subprocess.Popen(["sleep", "5"])
    try:
        started = procinfo.process_start_time(proc.pid)
        assert started is not None
        assert abs(started - before) < timedelta(seconds=2)
        assert procinfo.process_start_time(os.getpid()) is not None
    finally:
        proc.kill()
        proc.wait()
    assert procinfo.process_start_time(proc.pid) is None
    assert procinfo.process_start_time(0) is None


def test_current_owner_describes_this_process() -> None:
    pid, host, _started = procinfo.current_owner()
    assert (pid, host) == (os.getpid(), HOST)
