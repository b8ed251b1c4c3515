"""Task executions: attempt rows, counter triggers, latest rows and listing.

See docs/storage.md#triggers.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wf.storage import Run, Store, StoreError, TaskExecution, TaskStatus

NewRun = Callable[..., Run]
NewTask = Callable[..., TaskExecution]


def counters(store: Store, run_id: str) -> tuple[int, int, int]:
    run = store.get_run(run_id)
    return run.tasks_success, run.tasks_failed, run.tasks_skipped


def test_attempt_row_roundtrips_every_field(store: Store, new_run: NewRun) -> None:
    run = new_run()
    te = TaskExecution(
        run_id=run.id,
        task_id="deploy[env=prod]",
        task_name="deploy",
        command="echo hi",
        state=TaskStatus.RUNNING,
        working_dir="/tmp",
        log_path="/logs/x/attempt_1.log",
        start_time=run.start_time,
        attempt=1,
        max_retries=2,
        is_matrix_expansion=True,
        matrix_vars={"env": "prod"},
        condition_expr="{{.x}} == 1",
        condition_result=True,
        fingerprint="v1:abc",
        pid=4242,
    )
    te_id = store.create_task_execution(te)
    assert te_id == te.id > 0
    (got,) = store.list_task_executions(run_id=run.id)
    expected = te.to_dict()
    actual = got.to_dict()
    for key in ("created_at", "updated_at"):
        expected.pop(key)
        assert actual.pop(key) is not None
    assert actual == expected
    assert got.matrix_vars == {"env": "prod"}
    assert got.condition_result is True


def test_condition_result_none_false_true_are_distinct(store: Store, new_run: NewRun) -> None:
    run = new_run()
    for value in (None, False, True):
        store.create_task_execution(
            TaskExecution(run_id=run.id, task_id=str(value), condition_result=value)
        )
    assert [t.condition_result for t in store.list_task_executions(run_id=run.id)] == [
        None,
        False,
        True,
    ]


def test_attempt_for_unknown_run_violates_the_foreign_key(store: Store) -> None:
    with pytest.raises(StoreError, match="FOREIGN KEY"):
        store.create_task_execution(TaskExecution(run_id="missing", task_id="a"))


def test_update_task_execution_writes_the_outcome(
    store: Store, new_run: NewRun, new_task: NewTask
) -> None:
    run = new_run()
    te = new_task(run.id)
    te.state = TaskStatus.FAILED
    te.exit_code = 3
    te.error_message = "exit status 3"
    te.output_truncated = 10
    te.duration_ms = 12
    store.update_task_execution(te)
    (got,) = store.list_task_executions(run_id=run.id)
    assert (got.state, got.exit_code, got.error_message) == (TaskStatus.FAILED, 3, "exit status 3")
    assert (got.output_truncated, got.duration_ms) == (10, 12)
    assert got.updated_at is not None
    assert got.created_at is not None
    assert got.updated_at > got.created_at


def test_update_of_unknown_attempt_raises(store: Store) -> None:
    with pytest.raises(StoreError, match="not found"):
        store.update_task_execution(TaskExecution(id=999, run_id="r", task_id="a"))


def test_counters_count_attempt_rows_fail_fail_success(
    store: Store, new_run: NewRun, new_task: NewTask
) -> None:
    run = new_run()
    for attempt, final in [(1, TaskStatus.FAILED), (2, TaskStatus.FAILED), (3, TaskStatus.SUCCESS)]:
        te = new_task(run.id, "flaky", attempt=attempt)
        te.state = final
        store.update_task_execution(te)
    assert counters(store, run.id) == (1, 2, 0)


def test_counters_fire_on_insert_in_a_final_state(store: Store, new_run: NewRun) -> None:
    run = new_run()
    for state in (TaskStatus.SUCCESS, TaskStatus.SKIPPED, TaskStatus.SKIPPED, TaskStatus.FAILED):
        store.create_task_execution(TaskExecution(run_id=run.id, task_id="t", state=state))
    assert counters(store, run.id) == (1, 1, 2)


def test_counters_ignore_forensic_cancelled_and_same_state_updates(
    store: Store, new_run: NewRun, new_task: NewTask
) -> None:
    run = new_run()
    trap = new_task(run.id, "trap", is_forensic=True, state=TaskStatus.SUCCESS)
    trap.state = TaskStatus.FAILED
    store.update_task_execution(trap)
    cancelled = new_task(run.id, "c", state=TaskStatus.CANCELLED)
    store.update_task_execution(cancelled)
    done = new_task(run.id, "d", state=TaskStatus.SUCCESS)
    done.exit_code = 0
    store.update_task_execution(done)  # success -> success: not counted again
    assert counters(store, run.id) == (1, 0, 0)


def test_counters_accumulate_across_state_changes(
    store: Store, new_run: NewRun, new_task: NewTask
) -> None:
    run = new_run()
    te = new_task(run.id, state=TaskStatus.SUCCESS)
    te.state = TaskStatus.FAILED
    store.update_task_execution(te)
    assert counters(store, run.id) == (1, 1, 0)


def test_counter_trigger_refreshes_run_updated_at(
    store: Store, new_run: NewRun, new_task: NewTask
) -> None:
    run = new_run()
    te = new_task(run.id)
    before = store.get_run(run.id).updated_at
    te.state = TaskStatus.SUCCESS
    store.update_task_execution(te)
    after = store.get_run(run.id).updated_at
    assert before is not None
    assert after is not None
    assert after > before


def test_task_executions_are_listed_by_created_at_then_id(
    store: Store, new_run: NewRun, new_task: NewTask
) -> None:
    run = new_run()
    other = new_run()
    same = run.start_time
    for name in ["c", "a", "b"]:
        new_task(run.id, name, created_at=same)
    new_task(other.id, "z")
    assert [t.task_id for t in store.list_task_executions(run_id=run.id)] == ["c", "a", "b"]
    assert len(store.list_task_executions()) == 4
    assert [t.task_id for t in store.list_task_executions(task_id="a")] == ["a"]
    assert [t.task_id for t in store.list_task_executions(run_id=run.id, limit=1, offset=1)] == [
        "a"
    ]


def test_state_filter(store: Store, new_run: NewRun, new_task: NewTask) -> None:
    run = new_run()
    new_task(run.id, "a", state=TaskStatus.SUCCESS)
    new_task(run.id, "b", state=TaskStatus.FAILED)
    failed = store.list_task_executions(run_id=run.id, state=TaskStatus.FAILED)
    assert [t.task_id for t in failed] == ["b"]
    assert [t.task_id for t in store.list_task_executions(state="success")] == ["a"]


def test_latest_row_per_task_includes_forensic_unless_excluded(
    store: Store, new_run: NewRun, new_task: NewTask
) -> None:
    run = new_run()
    new_task(run.id, "a", attempt=1, state=TaskStatus.FAILED)
    new_task(run.id, "b", state=TaskStatus.SUCCESS)
    new_task(run.id, "a", attempt=2, state=TaskStatus.SUCCESS)
    new_task(run.id, "trap", is_forensic=True, state=TaskStatus.SUCCESS)
    latest = store.latest_task_executions(run.id)
    assert [(t.task_id, t.attempt) for t in latest] == [("b", 1), ("a", 2), ("trap", 1)]
    normal = store.latest_task_executions(run.id, include_forensic=False)
    assert [t.task_id for t in normal] == ["b", "a"]


def test_deleting_a_run_without_audit_entries_cascades(
    store: Store, new_run: NewRun, new_task: NewTask
) -> None:
    run = new_run()
    new_task(run.id)
    store._conn.execute("DELETE FROM runs WHERE id = ?", (run.id,))
    assert store.list_task_executions() == []
    assert isinstance(run, Run)
