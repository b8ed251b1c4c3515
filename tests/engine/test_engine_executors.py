"""Scheduling guarantees of the three modes (docs/executors.md), from stored start/end times.

Guarantees about scheduling alone run through the fake runner (no process start-up noise,
so the margins can be small); those about processes keep real shells.
"""

from __future__ import annotations

import itertools

import pytest

from fake_runner import FakeRunner
from wf.executor import (
    ParallelExecutor,
    SequentialExecutor,
    WorkStealingExecutor,
    executor_for_mode,
)
from wf.storage import ExecutionMode, RunStatus, TaskStatus

MODES = ["sequential", "parallel", "work_stealing"]


def fake() -> dict:
    """Executor keyword arguments for a run through the fake runner."""
    return {"runner": FakeRunner()}


def spans(result) -> dict:
    """(start, end) of every attempt, keyed by (node, attempt)."""
    return {(r.task_id, r.attempt): (r.start_time, r.end_time) for r in result.rows()}


def span(result, task_id: str):
    row = result.row(task_id)
    return row.start_time, row.end_time


# -- concurrency limits ---------------------------------------------------------------------
INDEPENDENT = """
    [tasks.t1]
    cmd = "sleep 0.15"
    [tasks.t2]
    cmd = "sleep 0.15"
    [tasks.t3]
    cmd = "sleep 0.15"
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "workers"), [("sequential", 4), ("parallel", 1), ("work_stealing", 1)]
)
def test_with_one_worker_no_two_attempts_overlap(write_dag, engine, mode, workers):
    dag = write_dag("""
        [tasks.t1]
        cmd = "sleep 0.1"
        [tasks.t2]
        cmd = "sleep 0.1; exit 1"
        retries = 1
        ignore_failure = true
        [tasks.t3]
        cmd = "sleep 0.1"
    """)
    result = engine.run(dag, mode, workers=workers, executor_kwargs=fake())
    times = sorted(spans(result).values())
    assert len(times) == 4
    for earlier, later in itertools.pairwise(times):
        assert earlier[1] <= later[0]


@pytest.mark.parametrize("mode", ["parallel", "work_stealing"])
def test_with_three_workers_three_independent_tasks_run_at_once(write_dag, engine, mode):
    result = engine.run(write_dag(INDEPENDENT), mode, workers=3, executor_kwargs=fake())
    assert result.run.status is RunStatus.SUCCESS
    t1, t2, t3 = (span(result, t) for t in ("t1", "t2", "t3"))
    assert max(t1[0], t2[0], t3[0]) < min(t1[1], t2[1], t3[1])


@pytest.mark.parametrize("mode", ["parallel", "work_stealing"])
def test_two_workers_never_run_three_attempts_at_once(write_dag, engine, mode):
    result = engine.run(write_dag(INDEPENDENT), mode, workers=2, executor_kwargs=fake())
    times = [span(result, t) for t in ("t1", "t2", "t3")]
    assert not max(start for start, _ in times) < min(end for _, end in times)


@pytest.mark.parametrize("mode", MODES)
def test_a_dependent_starts_only_after_all_its_dependencies_ended(write_dag, engine, mode):
    dag = write_dag("""
        [tasks.a]
        cmd = "true"
        [tasks.b]
        cmd = "sleep 0.2"
        depends_on = ["a"]
        [tasks.c]
        cmd = "sleep 0.05"
        depends_on = ["a"]
        [tasks.d]
        cmd = "true"
        depends_on = ["b", "c"]
    """)
    result = engine.run(dag, mode, workers=3)
    assert result.run.status is RunStatus.SUCCESS
    a, b, c, d = (span(result, t) for t in "abcd")
    assert a[1] <= b[0]
    assert a[1] <= c[0]
    assert b[1] <= d[0]
    assert c[1] <= d[0]


def test_sequential_order_is_level_then_id(write_dag, engine):
    dag = write_dag("""
        [tasks.z]
        cmd = "true"
        [tasks.m]
        cmd = "true"
        depends_on = ["z"]
        [tasks.a]
        cmd = "true"
        depends_on = ["z"]
        [tasks.b]
        cmd = "true"
    """)
    result = engine.run(dag)
    assert [r.task_id for r in result.rows()] == ["b", "z", "a", "m"]


# -- work-stealing versus level-parallel ----------------------------------------------------
CHAIN_AND_SLOW = """
    [tasks.slow]
    cmd = "sleep 0.4"  # the chain (no process starts: fake runner) finishes well inside it
    [tasks.c1]
    cmd = "true"
    [tasks.c2]
    cmd = "true"
    depends_on = ["c1"]
    [tasks.c3]
    cmd = "true"
    depends_on = ["c2"]
"""


def test_work_stealing_finishes_a_fast_chain_while_a_slow_task_runs(write_dag, engine):
    result = engine.run(
        write_dag(CHAIN_AND_SLOW), "work_stealing", workers=2, executor_kwargs=fake()
    )
    assert result.run.status is RunStatus.SUCCESS
    slow = span(result, "slow")
    c3 = span(result, "c3")
    assert c3[1] < slow[1]
    assert slow[0] < c3[0]


def test_level_parallel_waits_for_the_whole_level(write_dag, engine):
    result = engine.run(write_dag(CHAIN_AND_SLOW), "parallel", workers=2, executor_kwargs=fake())
    assert result.run.status is RunStatus.SUCCESS
    slow = span(result, "slow")
    c2 = span(result, "c2")
    assert slow[1] <= c2[0]


@pytest.mark.slow
def test_work_stealing_fail_fast_cancels_in_flight_attempts(write_dag, engine):
    dag = write_dag("""
        [tasks.bad]
        cmd = "sleep 0.2; exit 1"
        [tasks.slow]
        cmd = "sleep 30"
        [tasks.waiting]
        cmd = "true"
        [tasks.after]
        cmd = "true"
        depends_on = ["slow"]
    """)
    # two workers: bad and slow run, waiting is queued for a slot
    result = engine.run(dag, "work_stealing", workers=2)
    assert result.run.status is RunStatus.FAILED
    assert result.run.failed_task == "bad"
    assert result.run.error == "task bad failed after 1 attempt(s): exit status 1"
    slow = result.row("slow")
    assert slow.state is TaskStatus.CANCELLED
    assert slow.exit_code == -1
    assert slow.error_message == "cancelled: task bad failed"
    assert result.rows("waiting") == []
    assert result.rows("after") == []
    (cancelled,) = result.audit("task_cancelled")
    assert cancelled == {
        "_type": "task_cancelled",
        "task_id": "slow",
        "attempt": 1,
        "reason": "task bad failed",
    }
    cancelled_events = [e for e in result.events if e.kind == "task_failed" and e.task_id == "slow"]
    assert [e.status for e in cancelled_events] == ["cancelled"]
    assert [f.task_id for f in result.forensic("cancellation")] == ["slow"]


def test_work_stealing_ignored_failure_does_not_trigger_fail_fast(write_dag, engine):
    dag = write_dag("""
        [tasks.bad]
        cmd = "exit 1"
        ignore_failure = true
        [tasks.slow]
        cmd = "sleep 0.3"
    """)
    result = engine.run(dag, "work_stealing", workers=2)
    assert result.run.status is RunStatus.SUCCESS
    assert result.row("slow").state is TaskStatus.SUCCESS


def test_level_parallel_lets_siblings_finish_but_starts_no_later_level(write_dag, engine):
    dag = write_dag("""
        [tasks.bad]
        cmd = "exit 1"
        [tasks.sibling]
        cmd = "sleep 0.3"
        [tasks.next]
        cmd = "true"
        depends_on = ["sibling"]
    """)
    result = engine.run(dag, "parallel", workers=2)
    assert result.run.status is RunStatus.FAILED
    assert result.run.failed_task == "bad"
    assert result.row("sibling").state is TaskStatus.SUCCESS
    assert result.rows("next") == []
    assert result.audit("task_cancelled") == []


def test_level_parallel_queues_a_level_larger_than_max_parallel(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "true"
        [tasks.b]
        cmd = "true"
        [tasks.c]
        cmd = "true"
        [tasks.d]
        cmd = "true"
        [tasks.e]
        cmd = "true"
        depends_on = ["a", "b", "c", "d"]
    """)
    result = engine.run(dag, "parallel", workers=2)
    assert result.run.status is RunStatus.SUCCESS
    assert len(result.rows()) == 5


def test_sequential_fail_fast_gives_later_nodes_no_rows(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "exit 1"
        [tasks.b]
        cmd = "true"
    """)
    result = engine.run(dag, "sequential")
    assert result.run.status is RunStatus.FAILED
    assert result.rows("b") == []


# -- construction ---------------------------------------------------------------------------
def test_executor_for_mode_returns_the_matching_executor(store, logs_dir):
    assert isinstance(
        executor_for_mode("sequential", store, 3, logs_dir=logs_dir), SequentialExecutor
    )
    assert isinstance(executor_for_mode("parallel", store, 3, logs_dir=logs_dir), ParallelExecutor)
    ws = executor_for_mode(ExecutionMode.WORK_STEALING, store, 3, logs_dir=logs_dir)
    assert isinstance(ws, WorkStealingExecutor)
    assert ws.max_parallel == 3
    with pytest.raises(ValueError, match="unknown execution mode"):
        executor_for_mode("dask-ish", store, 3, logs_dir=logs_dir)


@pytest.mark.parametrize("workers", [0, -2])
def test_non_positive_concurrency_becomes_four(store, logs_dir, workers):
    assert ParallelExecutor(store, workers, logs_dir=logs_dir).max_parallel == 4
    assert WorkStealingExecutor(store, workers, logs_dir=logs_dir).max_parallel == 4
