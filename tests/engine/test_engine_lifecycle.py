"""Node lifecycle: success, retries, early failures, skips, ignores.

See docs/executors.md, docs/workflow-files.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from wf.dag import TaskDefinition
from wf.executor.attempts import RetryPolicy
from wf.storage import RunStatus, TaskStatus

MODES = ["sequential", "parallel", "work_stealing"]

# Fails on its first (N-1) runs, succeeds from the N-th on; the count lives in a file.
COUNTER_CMD = (
    'n=$(cat "{path}" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "{path}"; [ $n -ge {n} ]'
)


def counter_cmd(path: Path, succeed_on: int) -> str:
    return COUNTER_CMD.format(path=path, n=succeed_on)


# -- success --------------------------------------------------------------------------------
def test_successful_task_records_one_success_row_with_log_and_exit_code_0(write_dag, engine):
    dag = write_dag("""
        [tasks.hello]
        cmd = "echo hello"
    """)
    result = engine.run(dag)
    assert result.run.status is RunStatus.SUCCESS
    assert result.run.error is None
    assert result.run.failed_task is None
    (row,) = result.rows()
    assert row.state is TaskStatus.SUCCESS
    assert row.exit_code == 0
    assert row.attempt == 1
    assert row.command == "echo hello"
    assert row.pid is not None
    assert row.start_time is not None
    assert row.end_time is not None
    assert row.start_time <= row.end_time
    assert row.output_truncated == 0
    assert row.log_path == str(result.logs_dir / result.run.id / "hello" / "attempt_1.log")
    assert result.log("hello") == b"hello\n"
    run = result.run
    assert (run.tasks_success, run.tasks_failed, run.tasks_skipped) == (1, 0, 0)
    assert result.run.end_time is not None
    assert result.run.duration_ms is not None


def test_success_marks_incoming_dependency_edges_satisfied(write_dag, engine, store):
    dag = write_dag("""
        [tasks.a]
        cmd = "true"
        [tasks.b]
        cmd = "true"
        depends_on = ["a"]
    """)
    result = engine.run(dag)
    (edge,) = store.list_task_dependencies(result.run.id)
    assert (edge.task_id, edge.depends_on_task_id) == ("b", "a")
    assert edge.dependency_satisfied


def test_failing_task_fails_run_and_later_nodes_get_no_rows(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "exit 3"
        [tasks.b]
        cmd = "true"
        depends_on = ["a"]
    """)
    result = engine.run(dag)
    assert result.run.status is RunStatus.FAILED
    assert result.run.error == "task a failed after 1 attempt(s): exit status 3"
    assert result.run.failed_task == "a"
    (row,) = result.rows()
    assert row.task_id == "a"
    assert row.exit_code == 3
    assert row.error_message == "exit status 3"


def test_failed_attempt_keeps_last_ten_log_lines_as_stack_trace(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "i=1; while [ $i -le 15 ]; do echo line$i; i=$((i+1)); done; exit 1"
    """)
    result = engine.run(dag)
    assert result.row("a").stack_trace == "\n".join(f"line{i}" for i in range(6, 16))


def test_task_killed_by_signal_reports_signal_name(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "kill -KILL $$"
    """)
    result = engine.run(dag)
    row = result.row("a")
    assert row.exit_code == -1
    assert row.error_message == "killed by signal SIGKILL"


# -- retries --------------------------------------------------------------------------------
def test_retry_then_success_records_each_attempt_and_counts_rows(write_dag, engine, tmp_path):
    counter = tmp_path / "count"
    dag = write_dag(f"""
        [tasks.flaky]
        cmd = 'echo "try $WF_ATTEMPT"; {counter_cmd(counter, 3)}'
        retries = 2
    """)
    result = engine.run(dag)
    assert result.run.status is RunStatus.SUCCESS
    rows = result.rows("flaky")
    assert [r.attempt for r in rows] == [1, 2, 3]
    assert [r.state for r in rows] == [TaskStatus.FAILED, TaskStatus.FAILED, TaskStatus.SUCCESS]
    assert [r.exit_code for r in rows] == [1, 1, 0]
    assert all(r.max_retries == 2 for r in rows)
    # counters count attempt rows, not tasks (docs/storage.md#triggers)
    assert result.run.tasks_failed == 2
    assert result.run.tasks_success == 1
    assert counter.read_text().strip() == "3"
    retried = result.audit("task_retried")
    assert [e["attempt"] for e in retried] == [2, 3]
    assert result.kinds("flaky") == ["task_started", "task_retrying", "task_retrying", "task_done"]
    # every attempt logs to its own file
    for n, row in enumerate(rows, start=1):
        assert row.log_path == str(result.logs_dir / result.run.id / "flaky" / f"attempt_{n}.log")
        assert result.log("flaky", n) == f"try {n}\n".encode()


def test_an_attempt_that_prints_nothing_records_its_log_path_and_leaves_no_file(write_dag, engine):
    # docs/executors.md, "How a task runs": the log file is created on the first output byte.
    dag = write_dag("""
        [tasks.silent]
        cmd = "true"

        [tasks.quiet]
        cmd = "exit 3"
        retries = 1
        depends_on = ["silent"]
    """)
    result = engine.run(dag)
    assert result.run.status is RunStatus.FAILED
    rows = result.rows("quiet") + result.rows("silent")
    assert [(r.task_id, r.attempt, r.state) for r in rows] == [
        ("quiet", 1, TaskStatus.FAILED),
        ("quiet", 2, TaskStatus.FAILED),
        ("silent", 1, TaskStatus.SUCCESS),
    ]
    for row in rows:
        expected = result.logs_dir / result.run.id / row.task_id / f"attempt_{row.attempt}.log"
        assert row.log_path == str(expected)
        assert not expected.exists()
        assert row.output_truncated == 0
    assert [r.stack_trace for r in result.rows("quiet")] == ["", ""]
    assert result.run.error == "task quiet failed after 2 attempt(s): exit status 3"


def test_retries_exhausted_fails_with_attempt_count_and_last_error(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "exit 3"
        retries = 2
    """)
    result = engine.run(dag)
    assert result.run.status is RunStatus.FAILED
    assert result.run.error == "task a failed after 3 attempt(s): exit status 3"
    rows = result.rows("a")
    assert [r.attempt for r in rows] == [1, 2, 3]
    assert all(r.state is TaskStatus.FAILED and r.exit_code == 3 for r in rows)
    assert result.run.tasks_failed == 3
    (failed,) = result.audit("task_failed")
    assert failed["attempts"] == 3
    assert failed["error"] == "exit status 3"
    assert "early" not in failed


def test_retry_audit_records_delays_with_backoff_and_cap(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "exit 1"
        retries = 3
        retry_delay = "20ms"
        retry_backoff = 2.0
        retry_max_delay = "50ms"
    """)
    result = engine.run(dag)
    assert [e["delay_ms"] for e in result.audit("task_retried")] == [20, 40, 50]


@pytest.mark.parametrize(
    ("delay", "backoff", "cap", "k", "expected"),
    [
        (0.0, 1.0, None, 2, 0.0),
        (1.0, 1.0, None, 2, 1.0),
        (1.0, 1.0, None, 5, 1.0),
        (1.0, 2.0, None, 2, 1.0),
        (1.0, 2.0, None, 3, 2.0),
        (1.0, 2.0, None, 4, 4.0),
        (0.5, 3.0, None, 4, 4.5),
        (1.0, 2.0, 3.0, 4, 3.0),
        (10.0, 1.0, 3.0, 2, 3.0),
        (1.0, 2.0, 100.0, 11, 100.0),
    ],
)
def test_retry_delay_is_delay_times_backoff_power_capped_by_max_delay(
    delay, backoff, cap, k, expected
):
    task = TaskDefinition(
        id="t", cmd="true", retry_delay=delay, retry_backoff=backoff, retry_max_delay=cap
    )
    assert RetryPolicy.of(task).delay_before(k) == pytest.approx(expected)


def test_timed_out_attempts_are_retried(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "sleep 5"
        timeout = "100ms"
        retries = 1
    """)
    result = engine.run(dag)
    rows = result.rows("a")
    assert [r.attempt for r in rows] == [1, 2]
    assert all(r.error_message == "timed out after 100ms" for r in rows)
    assert len(result.forensic("timeout")) == 2
    assert result.run.error == "task a failed after 2 attempt(s): timed out after 100ms"


# -- early failures -------------------------------------------------------------------------
def test_undefined_variable_in_cmd_is_early_failure_never_retried(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "echo {{.x}}"
        retries = 3
    """)
    result = engine.run(dag)
    assert result.run.status is RunStatus.FAILED
    (row,) = result.rows("a")
    assert row.state is TaskStatus.FAILED
    assert row.error_message == 'interpolation failed in cmd: undefined variable "x"'
    assert row.exit_code is None
    assert row.log_path is None
    assert row.duration_ms == 0
    assert row.start_time == row.end_time
    assert row.command == "echo {{.x}}"
    assert not (result.logs_dir / result.run.id / "a").exists()
    assert result.run.tasks_failed == 1
    (failed,) = result.audit("task_failed")
    assert failed["early"] is True
    assert failed["attempts"] == 1
    assert result.audit("task_started") == []
    assert result.run.error == (
        'task a failed after 1 attempt(s): interpolation failed in cmd: undefined variable "x"'
    )


def test_undefined_variable_in_env_names_the_env_key(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "true"
        env = { GREETING = "{{.nope}}" }
    """)
    result = engine.run(dag)
    assert result.row("a").error_message == (
        'interpolation failed in env.GREETING: undefined variable "nope"'
    )


def test_missing_working_dir_is_early_failure(write_dag, engine, tmp_path):
    missing = tmp_path / "nope"
    dag = write_dag(f"""
        [tasks.a]
        cmd = "true"
        working_dir = "{missing}"
        retries = 2
    """)
    result = engine.run(dag)
    (row,) = result.rows("a")
    assert row.error_message == f"working directory does not exist: {missing}"
    assert row.exit_code is None
    assert result.audit("task_failed")[0]["early"] is True


def test_working_dir_that_is_a_file_is_early_failure(write_dag, engine, tmp_path):
    afile = tmp_path / "file"
    afile.write_text("x")
    dag = write_dag(f"""
        [tasks.a]
        cmd = "true"
        working_dir = "{afile}"
    """)
    result = engine.run(dag)
    assert result.row("a").error_message == f"working directory is not a directory: {afile}"


def test_task_runs_in_its_working_dir(write_dag, engine, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    dag = write_dag(f"""
        [tasks.a]
        cmd = "pwd"
        working_dir = "{work}"
    """)
    result = engine.run(dag)
    assert result.log("a").decode().strip() == str(work)
    assert result.row("a").working_dir == str(work)


# -- conditions -----------------------------------------------------------------------------
def test_false_condition_skips_node_and_dependents_still_run(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "echo never"
        if = 'flag == "yes"'
        [tasks.b]
        cmd = "true"
        depends_on = ["a"]
    """)
    result = engine.run(dag, runtime_vars={"flag": "no"})
    assert result.run.status is RunStatus.SUCCESS
    (skipped,) = result.rows("a")
    assert skipped.state is TaskStatus.SKIPPED
    assert skipped.condition_result is False
    assert skipped.condition_expr == 'flag == "yes"'
    assert skipped.log_path is None
    assert result.row("b").state is TaskStatus.SUCCESS
    assert result.run.tasks_skipped == 1
    assert result.audit("task_skipped") == [
        {"task_id": "a", "condition": 'flag == "yes"', "_type": "task_skipped"}
    ]
    (event,) = [e for e in result.events if e.kind == "task_skipped"]
    assert (event.status, event.reason) == ("skipped", "condition false")


def test_true_condition_runs_node_and_records_result(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "true"
        if = 'flag == "yes"'
    """)
    result = engine.run(dag, runtime_vars={"flag": "yes"})
    row = result.row("a")
    assert row.state is TaskStatus.SUCCESS
    assert row.condition_result is True


def test_condition_error_is_early_failure(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "true"
        if = 'missing == 1'
        retries = 2
    """)
    result = engine.run(dag)
    (row,) = result.rows("a")
    assert row.state is TaskStatus.FAILED
    assert row.exit_code is None
    assert row.error_message.startswith("condition evaluation failed: ")
    assert 'undefined variable "missing"' in row.error_message
    assert result.audit("task_failed")[0]["early"] is True


def test_dependent_reading_a_skipped_nodes_variable_fails_early(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "echo v"
        register = "val"
        if = 'flag == "yes"'
        [tasks.b]
        cmd = "echo {{.val}}"
        depends_on = ["a"]
    """)
    result = engine.run(dag, runtime_vars={"flag": "no"})
    assert result.row("b").error_message == 'interpolation failed in cmd: undefined variable "val"'


# -- ignore_failure -------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_ignored_failure_lets_run_succeed_and_dependents_run(write_dag, engine, mode):
    dag = write_dag("""
        [tasks.a]
        cmd = "exit 4"
        ignore_failure = true
        [tasks.early]
        cmd = "echo {{.undefined}}"
        ignore_failure = true
        [tasks.b]
        cmd = "true"
        depends_on = ["a", "early"]
    """)
    result = engine.run(dag, mode)
    assert result.run.status is RunStatus.SUCCESS
    assert result.run.error is None
    assert result.row("a").state is TaskStatus.FAILED
    assert result.row("early").state is TaskStatus.FAILED
    assert result.row("b").state is TaskStatus.SUCCESS
    ignored = {e["task_id"]: e["ignored"] for e in result.audit("task_failed")}
    assert ignored == {"a": True, "early": True}
    failed_events = [e for e in result.events if e.kind == "task_failed"]
    assert {e.task_id for e in failed_events} == {"a", "early"}


def test_early_failure_records_the_interpolated_command_when_known(write_dag, engine, tmp_path):
    missing = tmp_path / "nope"
    dag = write_dag(f"""
        [tasks.a]
        cmd = "echo {{{{.v}}}}"
        working_dir = "{missing}"
    """)
    result = engine.run(dag, runtime_vars={"v": "42"})
    (row,) = result.rows("a")
    assert row.error_message == f"working directory does not exist: {missing}"
    assert row.command == "echo 42"


def test_a_retry_policy_retries_failed_attempts_while_attempts_remain_unless_cancelled():
    policy = RetryPolicy.of(TaskDefinition(id="t", cmd="true", retries=2))
    assert policy.attempts == 3
    assert policy.retries_after(1, cancelled=False)
    assert policy.retries_after(2, cancelled=False)
    assert not policy.retries_after(3, cancelled=False)
    assert not policy.retries_after(1, cancelled=True)
