"""Transactions and concurrent use: one Store from many threads, several Stores on one file."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from wf.storage import Run, Store, StoreError, TaskExecution, TaskStatus

NewRun = Callable[..., Run]


def test_transaction_commits_all_statements_together(store: Store, new_run: NewRun) -> None:
    run = new_run()
    with store.transaction():
        te = TaskExecution(run_id=run.id, task_id="a", state=TaskStatus.RUNNING)
        store.create_task_execution(te)
        store.create_audit_entry(run.id, "task_started", "{}")
        with store.transaction():  # nested: joins the outer transaction
            store.create_audit_entry(run.id, "task_retried", "{}")
    assert len(store.list_audit_trail(run_id=run.id)) == 2
    assert not store._conn.in_transaction


def test_transaction_rolls_back_everything_on_error(store: Store, new_run: NewRun) -> None:
    run = new_run()

    def fail_midway() -> None:
        with store.transaction():
            store.create_audit_entry(run.id, "a", "{}")
            with store.transaction():
                store.create_audit_entry(run.id, "b", "{}")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_midway()
    assert store.list_audit_trail() == []
    store.create_audit_entry(run.id, "c", "{}")  # the store is usable afterwards
    assert len(store.list_audit_trail()) == 1


def test_failed_statement_inside_a_transaction_raises_store_error(
    store: Store, new_run: NewRun
) -> None:
    run = new_run()

    def write_one_good_one_bad() -> None:
        with store.transaction():
            store.create_audit_entry(run.id, "ok", "{}")
            store.create_audit_entry("missing-run", "bad", "{}")

    with pytest.raises(StoreError):
        write_one_good_one_bad()
    assert store.list_audit_trail() == []


def test_other_threads_wait_for_an_open_transaction(store: Store, new_run: NewRun) -> None:
    run = new_run()
    inside = threading.Event()
    seen: list[int] = []

    def reader() -> None:
        inside.wait()
        seen.append(len(store.list_audit_trail()))

    thread = threading.Thread(target=reader)
    thread.start()
    with store.transaction():
        store.create_audit_entry(run.id, "a", "{}")
        inside.set()
        thread.join(0.2)  # the reader blocks on the store lock meanwhile
        store.create_audit_entry(run.id, "b", "{}")
    thread.join()
    assert seen == [2]


def test_one_store_shared_by_many_threads(store: Store, new_run: NewRun) -> None:
    run = new_run()

    def work(n: int) -> None:
        for attempt in range(25):
            te = TaskExecution(run_id=run.id, task_id=f"t{n}", attempt=attempt + 1)
            with store.transaction():
                store.create_task_execution(te)
                store.create_audit_entry(run.id, "task_started", "{}")
            te.state = TaskStatus.SUCCESS
            store.update_task_execution(te)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get_run(run.id).tasks_success == 100
    assert len(store.list_audit_trail()) == 100


def test_two_stores_on_one_file_write_concurrently_without_locking_errors(
    db_path: Path,
) -> None:
    errors: list[BaseException] = []
    run_ids: list[str] = []

    def writer(n: int) -> None:
        try:
            with Store(db_path) as s:
                run_id = s.create_run(Run(workflow_name=f"w{n}", workflow_file="f"))
                run_ids.append(run_id)
                for attempt in range(40):
                    te = TaskExecution(run_id=run_id, task_id="t", attempt=attempt + 1)
                    with s.transaction():
                        s.create_task_execution(te)
                        s.create_audit_entry(run_id, "task_started", "{}")
                    te.state = TaskStatus.FAILED
                    s.update_task_execution(te)
                    s.update_heartbeat(run_id)
                    s.list_runs(limit=5)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Store(db_path) as s:
        assert [s.get_run(r).tasks_failed for r in run_ids] == [40, 40]
        assert s.quick_check() == ["ok"]
