"""Failure traps, the on_failure_hook and the root cause.

See docs/workflow-files.md#forensic-tasks-and-traps, docs/executors.md.
"""

from __future__ import annotations

import io
import os
import sys
import threading

import pytest

from wf.dag import GLOBAL_TRAP_ID
from wf.storage import RunStatus, TaskStatus

MODES = ["sequential", "parallel", "work_stealing"]

TRAP = """
    [tasks.trap]
    type = "forensic"
    cmd = "echo 'trap saw {{.failed_task}}: {{.error_message}}'"
"""


def trap_rows(result, trap_id: str = "trap"):
    return result.rows(trap_id)


# -- task-level trap ------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_task_trap_fires_on_final_failure_with_failed_task_and_error(write_dag, engine, mode):
    dag = write_dag(
        """
        [tasks.a]
        cmd = "exit 5"
        retries = 1
        on_failure = "trap"
    """
        + TRAP
    )
    result = engine.run(dag, mode)
    assert result.run.status is RunStatus.FAILED
    (row,) = trap_rows(result)
    assert row.is_forensic
    assert row.state is TaskStatus.SUCCESS
    assert result.log("trap") == b"trap saw a: exit status 5\n"
    (fired,) = result.audit("forensic_trap_fired")
    assert fired == {
        "_type": "forensic_trap_fired",
        "trap_id": "trap",
        "failed_task": "a",
        "scope": "task",
    }
    (output,) = result.forensic("trap_output")
    assert output.log_data == "trap saw a: exit status 5\n"
    assert output.task_id == "trap"
    assert output.triggered_by == "a"
    assert output.trigger_reason == "exit status 5"
    # the trap runs before the task_failed records of its node
    types = result.audit_types()
    assert types.index("forensic_trap_fired") < types.index("task_failed")
    # trap rows are never counted
    assert result.run.tasks_success == 0
    assert result.run.tasks_failed == 2
    # the run's outcome is still the task's failure
    assert result.run.failed_task == "a"


def test_task_trap_fires_on_early_failure(write_dag, engine):
    dag = write_dag(
        """
        [tasks.a]
        cmd = "echo {{.missing}}"
        on_failure = "trap"
    """
        + TRAP
    )
    result = engine.run(dag)
    assert result.log("trap") == (
        b'trap saw a: interpolation failed in cmd: undefined variable "missing"\n'
    )


def test_task_trap_does_not_fire_on_success(write_dag, engine, tmp_path):
    dag = write_dag(
        """
        [tasks.a]
        cmd = "true"
        on_failure = "trap"
    """
        + TRAP
    )
    result = engine.run(dag)
    assert result.run.status is RunStatus.SUCCESS
    assert trap_rows(result) == []
    assert result.audit("forensic_trap_fired") == []
    assert result.forensic("trap_output") == []


def test_task_trap_does_not_fire_when_a_retry_succeeds(write_dag, engine):
    dag = write_dag(
        """
        [tasks.a]
        cmd = '[ "$WF_ATTEMPT" = 2 ]'
        retries = 1
        on_failure = "trap"
    """
        + TRAP
    )
    result = engine.run(dag)
    assert result.run.status is RunStatus.SUCCESS
    assert [r.state for r in result.rows("a")] == [TaskStatus.FAILED, TaskStatus.SUCCESS]
    assert trap_rows(result) == []


def test_task_trap_does_not_fire_on_cancellation(write_dag, engine, when_log_contains):
    dag = write_dag(
        """
        [tasks.a]
        cmd = "echo started; sleep 30"
        on_failure = "trap"
    """
        + TRAP
    )
    cancel = threading.Event()
    when_log_contains(b"started", cancel.set)
    result = engine.run(dag, cancel=cancel)
    assert result.run.status is RunStatus.CANCELLED
    assert trap_rows(result) == []
    assert result.audit("forensic_trap_fired") == []


def test_task_trap_fires_at_most_once_per_invocation(write_dag, engine):
    dag = write_dag(
        """
        [tasks.a]
        cmd = "exit 1"
        ignore_failure = true
        on_failure = "trap"
        [tasks.b]
        cmd = "exit 2"
        ignore_failure = true
        on_failure = "trap"
    """
        + TRAP
    )
    result = engine.run(dag)
    assert result.run.status is RunStatus.SUCCESS
    assert len(trap_rows(result)) == 1
    assert len(result.audit("forensic_trap_fired")) == 1
    assert result.log("trap") == b"trap saw a: exit status 1\n"


def test_failing_task_trap_never_changes_the_run_outcome(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "exit 1"
        ignore_failure = true
        on_failure = "trap"
        [tasks.trap]
        type = "forensic"
        cmd = "echo trap-broken; exit 9"
    """)
    result = engine.run(dag)
    assert result.run.status is RunStatus.SUCCESS
    assert result.run.error is None
    (row,) = trap_rows(result)
    assert row.state is TaskStatus.FAILED
    assert row.exit_code == 9
    trap_failed = [e for e in result.audit("task_failed") if e["task_id"] == "trap"]
    assert len(trap_failed) == 1
    (output,) = result.forensic("trap_output")
    assert output.log_data == "trap-broken\n"
    # the failed trap row is not counted either
    assert result.run.tasks_failed == 1


def test_trap_variables_are_owned_by_wf(write_dag, engine, store):
    dag = write_dag(
        """
        [tasks.a]
        cmd = "exit 1"
        on_failure = "trap"
    """
        + TRAP
    )
    result = engine.run(dag)
    final = {
        s.variable_name: s.set_by_task
        for s in store.list_context_snapshots(run_id=result.run.id)
        if s.snapshot_type == "final"
    }
    assert final == {"failed_task": "__forensic__", "error_message": "__forensic__"}


# -- global trap ----------------------------------------------------------------------------
GLOBAL = """
    on_failure = "page"
    [tasks.page]
    type = "forensic"
    cmd = "echo 'dag={{.failed_dag}} task={{.failed_task}} error={{.error_message}}'"
"""


@pytest.mark.parametrize("mode", MODES)
def test_global_trap_fires_once_when_the_run_failed(write_dag, engine, mode):
    dag = write_dag(
        GLOBAL
        + """
        [tasks.a]
        cmd = "exit 3"
        [tasks.b]
        cmd = "sleep 0.2; exit 4"
    """,
        name="pipeline",
    )
    result = engine.run(dag, mode)
    assert result.run.status is RunStatus.FAILED
    (row,) = result.rows(GLOBAL_TRAP_ID)
    assert row.is_forensic
    assert result.log(GLOBAL_TRAP_ID) == (
        b"dag=pipeline task=a error=task a failed after 1 attempt(s): exit status 3\n"
    )
    (fired,) = result.audit("forensic_trap_fired")
    assert fired["scope"] == "global"
    assert fired["trap_id"] == "page"
    assert fired["failed_task"] == "a"
    types = result.audit_types()
    assert types.index("forensic_trap_fired") < types.index("run_completed")
    assert result.run.error == "task a failed after 1 attempt(s): exit status 3"


def test_global_trap_never_fires_on_success(write_dag, engine):
    dag = write_dag(
        GLOBAL
        + """
        [tasks.a]
        cmd = "true"
    """
    )
    result = engine.run(dag)
    assert result.rows(GLOBAL_TRAP_ID) == []
    assert result.audit("forensic_trap_fired") == []


def test_global_trap_never_fires_on_cancellation(write_dag, engine, when_log_contains):
    dag = write_dag(
        GLOBAL
        + """
        [tasks.a]
        cmd = "echo started; sleep 30"
    """
    )
    cancel = threading.Event()
    when_log_contains(b"started", cancel.set)
    result = engine.run(dag, cancel=cancel)
    assert result.run.status is RunStatus.CANCELLED
    assert result.rows(GLOBAL_TRAP_ID) == []
    assert result.audit("forensic_trap_fired") == []


def test_failing_global_trap_keeps_the_run_error(write_dag, engine):
    dag = write_dag("""
        on_failure = "page"
        [tasks.page]
        type = "forensic"
        cmd = "exit 8"
        [tasks.a]
        cmd = "exit 3"
    """)
    result = engine.run(dag)
    assert result.run.status is RunStatus.FAILED
    assert result.run.failed_task == "a"
    assert result.run.error == "task a failed after 1 attempt(s): exit status 3"
    assert result.row(GLOBAL_TRAP_ID).state is TaskStatus.FAILED


def test_task_trap_and_global_trap_both_fire(write_dag, engine):
    dag = write_dag(
        GLOBAL
        + TRAP
        + """
        [tasks.a]
        cmd = "exit 3"
        on_failure = "trap"
    """
    )
    result = engine.run(dag)
    scopes = [e["scope"] for e in result.audit("forensic_trap_fired")]
    assert scopes == ["task", "global"]
    assert len(result.forensic("trap_output")) == 2


# -- on_failure_hook ------------------------------------------------------------------------
HOOK_NAMES = ("WF_RUN_ID", "WF_WORKFLOW", "WF_STATUS", "WF_FAILED_TASK", "WF_ERROR")


def hook_cmd(path) -> str:
    fmt = "".join(f"{n}=%s\\n" for n in HOOK_NAMES)
    values = " ".join(f'"${n}"' for n in HOOK_NAMES)
    return f"printf '{fmt}' {values} > '{path}'"


def test_hook_runs_when_the_run_failed_with_its_environment(write_dag, engine, tmp_path):
    out = tmp_path / "hook.env"
    dag = write_dag(
        """
        [tasks.a]
        cmd = "exit 3"
    """,
        name="hooked",
    )
    result = engine.run(dag, executor_kwargs={"on_failure_hook": hook_cmd(out)})
    env = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert env == {
        "WF_RUN_ID": result.run.id,
        "WF_WORKFLOW": "hooked",
        "WF_STATUS": "failed",
        "WF_FAILED_TASK": "a",
        "WF_ERROR": "task a failed after 1 attempt(s): exit status 3",
    }


def test_hook_does_not_run_on_success(write_dag, engine, tmp_path):
    out = tmp_path / "hook.env"
    dag = write_dag("""
        [tasks.a]
        cmd = "true"
    """)
    result = engine.run(dag, executor_kwargs={"on_failure_hook": hook_cmd(out)})
    assert result.run.status is RunStatus.SUCCESS
    assert not out.exists()


def test_hook_does_not_run_on_cancellation(write_dag, engine, tmp_path):
    out = tmp_path / "hook.env"
    dag = write_dag("""
        [tasks.a]
        cmd = "sleep 30"
    """)
    result = engine.run(dag, timeout=0.2, executor_kwargs={"on_failure_hook": hook_cmd(out)})
    assert result.run.status is RunStatus.CANCELLED
    assert not out.exists()


def test_failing_hook_only_warns(write_dag, engine):
    warnings: list[str] = []
    dag = write_dag("""
        [tasks.a]
        cmd = "exit 3"
    """)
    result = engine.run(dag, executor_kwargs={"on_failure_hook": "exit 6", "warn": warnings.append})
    assert result.run.status is RunStatus.FAILED
    assert result.run.error == "task a failed after 1 attempt(s): exit status 3"
    assert warnings == ["on_failure_hook exited with status 6"]


def test_hook_runs_after_the_run_row_is_final(write_dag, engine, tmp_path, store):
    out = tmp_path / "status.txt"
    script = tmp_path / "read_status.py"
    script.write_text(
        "import os, sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1])\n"
        "row = conn.execute('SELECT status, failed_task FROM runs WHERE id = ?',\n"
        "                   (os.environ['WF_RUN_ID'],)).fetchone()\n"
        "open(sys.argv[2], 'w').write(' '.join(row))\n"
    )
    dag = write_dag("""
        [tasks.a]
        cmd = "exit 3"
    """)
    hook = f"'{sys.executable}' '{script}' '{store.path}' '{out}'"
    engine.run(dag, executor_kwargs={"on_failure_hook": hook})
    assert out.read_text() == "failed a"


# -- root cause -----------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["parallel", "work_stealing"])
def test_root_cause_is_the_failure_that_ended_first(write_dag, engine, mode):
    dag = write_dag("""
        [tasks.a_slow]
        cmd = "sleep 0.3; exit 2"
        [tasks.b_fast]
        cmd = "exit 1"
        retries = 1
    """)
    result = engine.run(dag, mode)
    assert result.run.status is RunStatus.FAILED
    assert result.run.failed_task == "b_fast"
    assert result.run.error == "task b_fast failed after 2 attempt(s): exit status 1"


def test_root_cause_ignores_ignored_failures(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "exit 1"
        ignore_failure = true
        [tasks.b]
        cmd = "exit 2"
        depends_on = ["a"]
    """)
    result = engine.run(dag)
    assert result.run.failed_task == "b"
    assert result.run.error == "task b failed after 1 attempt(s): exit status 2"


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_hook_leaks_no_file_descriptor_when_stderr_has_none(
    write_dag, engine, tmp_path, monkeypatch, open_fds
):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    dag = write_dag("""
        [tasks.a]
        cmd = "exit 3"
    """)
    executor = engine.executor(on_failure_hook=f"touch '{tmp_path / 'ran'}'")
    executor.execute(dag)  # warm up: lazily created helpers (watchdog pipe) keep their fds
    before = open_fds()
    for _ in range(3):
        executor.execute(dag)
    assert (tmp_path / "ran").exists()
    assert open_fds() - before == set()


@pytest.mark.slow
def test_external_cancellation_cancels_a_running_global_trap(write_dag, engine, when_log_contains):
    dag = write_dag("""
        on_failure = "page"
        [tasks.page]
        type = "forensic"
        cmd = "echo trap-started; sleep 5; echo trap-finished"
        [tasks.a]
        cmd = "exit 3"
    """)
    cancel = threading.Event()
    when_log_contains(b"trap-started", cancel.set)
    result = engine.run(dag, cancel=cancel)
    row = result.row(GLOBAL_TRAP_ID)
    assert row.state is TaskStatus.CANCELLED
    assert b"trap-finished" not in result.log(GLOBAL_TRAP_ID)


def test_external_cancellation_cancels_a_running_task_trap(write_dag, engine, when_log_contains):
    dag = write_dag("""
        [tasks.a]
        cmd = "exit 3"
        on_failure = "trap"
        [tasks.trap]
        type = "forensic"
        cmd = "echo trap-started; sleep 5; echo trap-finished"
    """)
    cancel = threading.Event()
    when_log_contains(b"trap-started", cancel.set)
    result = engine.run(dag, cancel=cancel)
    assert result.run.status is RunStatus.CANCELLED
    assert result.row("trap").state is TaskStatus.CANCELLED
    assert b"trap-finished" not in result.log("trap")
