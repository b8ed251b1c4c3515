"""Processes (docs/executors.md): timeouts, cancellation, process-group cleanup, environment."""

from __future__ import annotations

import re
import signal
import threading

import pytest

from wf.executor import CancelToken
from wf.executor.procgroup import group_alive
from wf.storage import RunStatus, TaskStatus

MODES = ["sequential", "parallel", "work_stealing"]


def env_dump_cmd(path, *names: str) -> str:
    """A shell command writing NAME=value (or NAME=<unset>) lines to PATH using builtins only."""
    fmt = "".join(f"{n}=%s\\n" for n in names)
    values = " ".join(f'"${{{n}-<unset>}}"' for n in names)
    return f"printf '{fmt}' {values} > '{path}'"


def read_env(path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def exported_names(path) -> set[str]:
    """Names listed by ``export -p`` (the process environment, not unexported shell defaults)."""
    return set(
        re.findall(r"^(?:export|declare -x) ([A-Za-z_][A-Za-z0-9_]*)", path.read_text(), re.M)
    )


# -- timeouts -------------------------------------------------------------------------------
@pytest.mark.slow
def test_timeout_kills_term_ignoring_task_and_its_whole_group(write_dag, engine):
    # The background sleep inherits the ignored TERM, so only SIGKILL ends the group.
    dag = write_dag("""
        [tasks.stubborn]
        cmd = "trap '' TERM; sleep 30 & sleep 30"
        timeout = "300ms"
        kill_grace = "200ms"
    """)
    result = engine.run(dag)
    assert result.run.status is RunStatus.FAILED
    (row,) = result.rows("stubborn")
    assert row.state is TaskStatus.FAILED
    assert row.exit_code == -1
    assert row.error_message == "timed out after 300ms"
    assert result.run.error == "task stubborn failed after 1 attempt(s): timed out after 300ms"
    (forensic,) = result.forensic("timeout")
    assert forensic.task_id == "stubborn"
    assert "timed out after 300ms" in forensic.log_data
    assert row.pid is not None
    assert not group_alive(row.pid)


def test_timeout_that_is_not_reached_does_not_interfere(write_dag, engine):
    dag = write_dag("""
        [tasks.quick]
        cmd = "true"
        timeout = "30s"
    """)
    result = engine.run(dag)
    assert result.row("quick").state is TaskStatus.SUCCESS
    assert result.forensic("timeout") == []


# -- cancellation ---------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_cancel_kills_backgrounded_grandchildren_and_cancels_the_run(
    write_dag, engine, when_log_contains, mode
):
    dag = write_dag("""
        [tasks.a]
        cmd = "sleep 30 & sleep 30 & echo started; wait"
        [tasks.b]
        cmd = "true"
        depends_on = ["a"]
    """)
    cancel = threading.Event()
    when_log_contains(b"started", cancel.set)
    result = engine.run(dag, mode, cancel=cancel)
    assert result.run.status is RunStatus.CANCELLED
    assert result.run.error == "cancelled"
    assert result.run.failed_task is None
    (row,) = result.rows("a")
    assert row.state is TaskStatus.CANCELLED
    assert row.exit_code == -1
    assert row.error_message.startswith("cancelled: ")
    assert not group_alive(row.pid)
    assert result.rows("b") == []
    (cancelled,) = result.audit("task_cancelled")
    assert cancelled["task_id"] == "a"
    assert cancelled["attempt"] == 1
    assert len(result.forensic("cancellation")) == 1
    (failed_event,) = [e for e in result.events if e.kind == "task_failed"]
    assert failed_event.status == "cancelled"
    # cancelled rows are not counted, and cancellation is not a task failure
    assert result.run.tasks_failed == 0
    assert result.audit("task_failed") == []
    assert result.kinds()[-1] == "run_done"
    assert result.events[-1].run_status == "cancelled"


def test_cancel_during_retry_delay_cancels_pending_row_and_starts_no_attempt(
    write_dag, engine, when_log_contains
):
    dag = write_dag("""
        [tasks.a]
        cmd = "echo tried; exit 1"
        retries = 3
        retry_delay = "30s"
    """)
    cancel = threading.Event()
    when_log_contains(b"tried", cancel.set)
    result = engine.run(dag, cancel=cancel)
    assert result.run.status is RunStatus.CANCELLED
    rows = result.rows("a")
    assert [(r.attempt, r.state) for r in rows] == [
        (1, TaskStatus.FAILED),
        (2, TaskStatus.CANCELLED),
    ]
    assert rows[1].error_message.startswith("cancelled: ")
    assert rows[1].pid is None


def test_cancel_before_start_gives_cancelled_run_without_rows(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "true"
    """)
    cancel = threading.Event()
    cancel.set()
    result = engine.run(dag, cancel=cancel)
    assert result.run.status is RunStatus.CANCELLED
    assert result.rows() == []


@pytest.mark.slow
def test_background_child_holding_the_pipe_is_killed_after_the_shell_exits(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "sleep 30 & echo done"
    """)
    result = engine.run(dag)
    assert result.run.status is RunStatus.SUCCESS
    row = result.row("a")
    assert row.state is TaskStatus.SUCCESS
    assert row.exit_code == 0
    assert result.log("a") == b"done\n"
    assert not group_alive(row.pid)


def test_run_timeout_cancels_the_run(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "sleep 30"
    """)
    result = engine.run(dag, timeout=0.3)
    assert result.run.status is RunStatus.CANCELLED
    assert result.run.error == "cancelled: run timed out after 300ms"
    assert result.run.timeout_ms == 300
    row = result.row("a")
    assert row.state is TaskStatus.CANCELLED
    assert row.error_message == "cancelled: run timed out after 300ms"
    assert not group_alive(row.pid)


# -- environment ----------------------------------------------------------------------------
WF_NAMES = ("WF_RUN_ID", "WF_WORKFLOW", "WF_TASK_ID", "WF_ATTEMPT", "WF_OUTPUT")


@pytest.mark.parametrize("clean", [False, True])
def test_wf_variables_are_injected_even_in_a_clean_environment(
    write_dag, engine, tmp_path, monkeypatch, clean
):
    monkeypatch.setenv("WF_TEST_OUTER", "outer")
    dump = tmp_path / "env.txt"
    exported = tmp_path / "exported.txt"
    dag = write_dag(
        f"""
        [tasks.show]
        cmd = '''{env_dump_cmd(dump, *WF_NAMES, "WF_TEST_OUTER")}; export -p > '{exported}' '''
        clean_env = {str(clean).lower()}
    """,
        name="envflow",
    )
    result = engine.run(dag)
    assert result.run.status is RunStatus.SUCCESS
    env = read_env(dump)
    assert env["WF_RUN_ID"] == result.run.id
    assert env["WF_WORKFLOW"] == "envflow"
    assert env["WF_TASK_ID"] == "show"
    assert env["WF_ATTEMPT"] == "1"
    assert env["WF_OUTPUT"] == str(result.logs_dir / result.run.id / "show" / "attempt_1.output")
    names = exported_names(exported)
    assert set(WF_NAMES) <= names
    if clean:
        # the shell may keep a default search path, but the environment has no PATH
        assert env["WF_TEST_OUTER"] == "<unset>"
        assert "PATH" not in names
        assert "WF_TEST_OUTER" not in names
    else:
        assert env["WF_TEST_OUTER"] == "outer"
        assert {"PATH", "WF_TEST_OUTER"} <= names


def test_run_level_clean_env_applies_to_every_task(write_dag, engine, tmp_path, monkeypatch):
    monkeypatch.setenv("WF_TEST_OUTER", "outer")
    dump = tmp_path / "env.txt"
    dag = write_dag(f"""
        [tasks.show]
        cmd = '''{env_dump_cmd(dump, "WF_TEST_OUTER", "WF_TASK_ID")}'''
    """)
    result = engine.run(dag, clean_env=True)
    assert result.run.clean_env is True
    assert read_env(dump) == {"WF_TEST_OUTER": "<unset>", "WF_TASK_ID": "show"}


def test_clean_env_keeps_path_when_the_task_sets_it(write_dag, engine, tmp_path):
    dump = tmp_path / "env.txt"
    dag = write_dag(f"""
        [tasks.show]
        cmd = '''{env_dump_cmd(dump, "PATH")}'''
        clean_env = true
        env = {{ PATH = "/opt/bin" }}
    """)
    result = engine.run(dag)
    assert result.run.status is RunStatus.SUCCESS
    assert read_env(dump) == {"PATH": "/opt/bin"}


def test_env_values_are_interpolated(write_dag, engine, tmp_path):
    dump = tmp_path / "env.txt"
    dag = write_dag(f"""
        [tasks.show]
        cmd = '''{env_dump_cmd(dump, "GREETING")}'''
        env = {{ GREETING = "hello {{{{.who}}}}; $(not run)" }}
    """)
    engine.run(dag, runtime_vars={"who": "bob"})
    assert read_env(dump) == {"GREETING": "hello bob; $(not run)"}


def test_wf_attempt_counts_attempts(write_dag, engine, tmp_path):
    dag = write_dag("""
        [tasks.a]
        cmd = 'echo "attempt=$WF_ATTEMPT"; [ "$WF_ATTEMPT" = 3 ]'
        retries = 2
    """)
    result = engine.run(dag)
    assert result.run.status is RunStatus.SUCCESS
    assert [result.log("a", n) for n in (1, 2, 3)] == [
        b"attempt=1\n",
        b"attempt=2\n",
        b"attempt=3\n",
    ]


def test_stdin_is_the_null_device(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "cat; echo end"
    """)
    result = engine.run(dag)
    assert result.log("a") == b"end\n"


def test_tasks_get_default_sigpipe_and_sigxfsz_not_the_interpreters_ignored_ones(write_dag, engine):
    # Python ignores SIGPIPE and SIGXFSZ for itself; a task must see the defaults, so that
    # `yes | head -1` ends quietly instead of complaining about a broken pipe.
    dag = write_dag("""
        [tasks.a]
        cmd = "yes | head -1; grep SigIgn /proc/self/status"
    """)
    result = engine.run(dag)
    log = result.log("a")
    assert b"Broken pipe" not in log
    ignored = int(log.split(b"SigIgn:")[1].split()[0], 16)
    assert not ignored & (1 << (signal.SIGPIPE - 1))
    assert not ignored & (1 << (signal.SIGXFSZ - 1))


def test_cancel_reason_comes_from_the_cancel_token(write_dag, engine, when_log_contains):
    dag = write_dag("""
        [tasks.a]
        cmd = "echo started; sleep 30"
    """)
    cancel = CancelToken()

    def first_ctrl_c() -> None:
        cancel.cancel("received SIGINT")

    when_log_contains(b"started", first_ctrl_c)
    result = engine.run(dag, cancel=cancel)
    assert result.run.status is RunStatus.CANCELLED
    assert result.run.error == "cancelled: received SIGINT"
    assert result.row("a").error_message == "cancelled: received SIGINT"


@pytest.mark.timeout(20)
def test_second_cancel_request_kills_without_waiting_for_the_grace_period(
    write_dag, engine, when_log_contains
):
    # A TERM-ignoring task with a 100 s grace: only the kill-now flag can end it in time.
    dag = write_dag("""
        [tasks.a]
        cmd = "trap '' TERM; echo started; sleep 60 & wait"
        kill_grace = "100s"
    """)
    cancel = CancelToken()

    def first_then_second_ctrl_c() -> None:
        cancel.cancel("received SIGINT")
        threading.Timer(0.3, cancel.kill_now).start()

    when_log_contains(b"started", first_then_second_ctrl_c)
    result = engine.run(dag, cancel=cancel)
    assert result.run.status is RunStatus.CANCELLED
    row = result.row("a")
    assert row.state is TaskStatus.CANCELLED
    assert not group_alive(row.pid)


def test_a_plain_event_and_a_token_without_reason_cancel_with_the_api_text(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "true"
    """)
    for cancel in (threading.Event(), CancelToken()):
        cancel.set()
        result = engine.run(dag, cancel=cancel)
        assert result.run.status is RunStatus.CANCELLED
        assert result.run.error == "cancelled"
