"""The engine through the ``AttemptRunner`` seam, with a fake runner: no shell is started.

Everything the lifecycle needs comes back in the ``AttemptResult`` (exit code, error, pid and
host, stdout tail, WF_OUTPUT content, log head and tail), so these runs never read a file the
runner wrote, and scheduling can be checked without process start-up noise.
"""

from __future__ import annotations

import threading

import pytest

from fake_runner import FakeRunner, FakeShellError, interpret
from wf.storage import RunStatus, TaskStatus

MODES = ["sequential", "parallel", "work_stealing"]


def run(engine, dag, mode="sequential", *, runner=None, workers=4, **kwargs):
    runner = runner or FakeRunner()
    result = engine.run(dag, mode, workers=workers, executor_kwargs={"runner": runner}, **kwargs)
    return result, runner


def test_the_fake_shell_refuses_what_it_does_not_understand():
    with pytest.raises(FakeShellError):
        interpret("curl https://example.org", {})
    script = interpret('test "$WF_ATTEMPT" -lt 2 && exit 4; echo ok', {"WF_ATTEMPT": "1"})
    assert script.exit_code == 4
    assert script.chunks == []


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_runs_through_the_runner_it_is_given(write_dag, engine, mode):
    dag = write_dag("""
        [tasks.a]
        cmd = "echo a"
        [tasks.b]
        cmd = "echo b"
        depends_on = ["a"]
        [tasks.c]
        cmd = "echo c"
        depends_on = ["a"]
    """)
    result, runner = run(engine, dag, mode)
    assert result.run.status is RunStatus.SUCCESS
    assert next(s.env["WF_TASK_ID"] for s in runner.started) == "a"
    assert sorted(s.env["WF_TASK_ID"] for s in runner.started) == ["a", "b", "c"]
    for row in result.rows():
        assert row.pid is not None
        assert row.pid >= 900_000
        assert row.state is TaskStatus.SUCCESS
    assert result.log("b") == b"b\n"
    (started,) = result.audit("run_started")
    assert started["executor"] == "fake"


def test_register_and_wf_output_come_from_the_result_not_from_a_file(write_dag, engine, tmp_path):
    dag = write_dag("""
        [tasks.produce]
        cmd = 'echo version=1.2 >> "$WF_OUTPUT"; echo noise; echo built'
        register = "artifact"
        [tasks.consume]
        cmd = "echo {{.version}}-{{.artifact}}"
        depends_on = ["produce"]
    """)
    result, _runner = run(engine, dag)
    assert result.run.status is RunStatus.SUCCESS
    # The fake never creates the WF_OUTPUT file: the values travelled in the result.
    assert not list(tmp_path.glob("logs/*/produce/*.output"))
    assert result.row("consume").command == "echo 1.2-built"
    assert result.log("consume") == b"1.2-built\n"


def test_retries_stack_trace_and_error_text_come_from_the_result(write_dag, engine):
    dag = write_dag("""
        [tasks.flaky]
        cmd = 'echo try $WF_ATTEMPT; echo oops >&2; test "$WF_ATTEMPT" -lt 3 && exit 2; echo ok'
        retries = 3
    """)
    result, _ = run(engine, dag)
    assert result.run.status is RunStatus.SUCCESS
    rows = result.rows("flaky")
    assert [r.state for r in rows] == [TaskStatus.FAILED, TaskStatus.FAILED, TaskStatus.SUCCESS]
    assert rows[0].error_message == "exit status 2"
    assert rows[0].exit_code == 2
    assert rows[0].stack_trace == "try 1\noops"
    assert [e["attempt"] for e in result.audit("task_retried")] == [2, 3]


def test_print_output_reads_the_log_head_from_the_result(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "echo hello; echo world >&2; exit 1"
    """)
    result, _ = run(engine, dag, print_output=True)
    (output,) = [e for e in result.events if e.kind == "task_output"]
    assert output.output == "hello\nworld\n"
    assert output.truncated is False


def test_a_wf_output_problem_reported_by_the_runner_fails_the_attempt(write_dag, engine):
    class Unreadable(FakeRunner):
        def open(self):
            session = super().open()
            start = session.start

            def start_and_spoil(spec, cancel, **kwargs):
                attempt = start(spec, cancel, **kwargs)
                original = session._finish

                def finish(a, outcome, code, error):
                    original(a, outcome, code, error)
                    if a is attempt:
                        a.result.output, a.result.output_error = None, "WF_OUTPUT is a FIFO"

                session._finish = finish
                return attempt

            session.start = start_and_spoil
            return session

    dag = write_dag("""
        [tasks.a]
        cmd = "sleep 0.01"
    """)
    result, _ = run(engine, dag, runner=Unreadable())
    assert result.run.status is RunStatus.FAILED
    row = result.row("a")
    assert row.exit_code == 0
    assert row.error_message == "WF_OUTPUT is a FIFO"


def test_a_timeout_enforced_by_the_runner_is_recorded_and_retried(write_dag, engine):
    dag = write_dag("""
        [tasks.slow]
        cmd = "sleep 30"
        timeout = "100ms"
        retries = 1
    """)
    result, _ = run(engine, dag)
    assert result.run.status is RunStatus.FAILED
    rows = result.rows("slow")
    assert [r.error_message for r in rows] == ["timed out after 100ms"] * 2
    assert len(result.forensic("timeout")) == 2


def test_cancelling_the_run_cancels_attempts_in_the_runner(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "echo started; sleep 30"
        [tasks.b]
        cmd = "true"
        depends_on = ["a"]
    """)
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    result, _ = run(engine, dag, cancel=cancel)
    assert result.run.status is RunStatus.CANCELLED
    assert result.row("a").state is TaskStatus.CANCELLED
    assert result.rows("b") == []


def test_fail_fast_cancels_the_runners_other_attempts(write_dag, engine):
    dag = write_dag("""
        [tasks.bad]
        cmd = "sleep 0.05; exit 1"
        [tasks.slow]
        cmd = "sleep 30"
    """)
    result, _ = run(engine, dag, "work_stealing", workers=2)
    assert result.run.status is RunStatus.FAILED
    assert result.run.failed_task == "bad"
    assert result.row("slow").error_message == "cancelled: task bad failed"


def test_a_runner_that_is_lost_fails_the_run_without_retries_or_new_starts(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "sleep 30"
        retries = 3
        retry_delay = "10s"
        [tasks.b]
        cmd = "true"
        depends_on = ["a"]
    """)
    runner = FakeRunner(lose_when_started="a", lose_reason="dask scheduler lost")
    result, _ = run(engine, dag, "work_stealing", runner=runner)
    assert result.run.status is RunStatus.FAILED
    assert result.run.error == "dask scheduler lost"
    (row,) = result.rows("a")
    assert row.state is TaskStatus.FAILED
    assert row.error_message == "dask scheduler lost"
    assert result.rows("b") == []


@pytest.mark.parametrize("mode", ["parallel", "work_stealing"])
def test_three_workers_run_three_independent_attempts_at_once(write_dag, engine, mode):
    dag = write_dag("""
        [tasks.t1]
        cmd = "sleep 0.15"
        [tasks.t2]
        cmd = "sleep 0.15"
        [tasks.t3]
        cmd = "sleep 0.15"
    """)
    result, _ = run(engine, dag, mode, workers=3)
    spans = [(r.start_time, r.end_time) for r in result.rows()]
    assert max(s for s, _ in spans) < min(e for _, e in spans)
    two, _ = run(engine, dag, mode, workers=2)
    spans = [(r.start_time, r.end_time) for r in two.rows()]
    assert not max(s for s, _ in spans) < min(e for _, e in spans)


def test_resume_reuses_successes_through_any_runner(write_dag, engine):
    dag = write_dag("""
        [tasks.ok]
        cmd = "echo fine"
        [tasks.broken]
        cmd = "exit 3"
        depends_on = ["ok"]
    """)
    first, _ = run(engine, dag)
    assert first.run.status is RunStatus.FAILED
    runner = FakeRunner()
    again = engine.resume(first.run.id, executor_kwargs={"runner": runner})
    assert [s.env["WF_TASK_ID"] for s in runner.started] == ["broken"]
    assert again.run.status is RunStatus.FAILED
