"""Resume through ``executor.resume`` (docs/resume.md)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from wf.dag import GLOBAL_TRAP_ID
from wf.errors import ResumeError
from wf.executor.procgroup import group_alive
from wf.storage import ExecutionMode, RunStatus, TaskStatus

MODES = ["sequential", "parallel", "work_stealing"]


@pytest.fixture
def gate(tmp_path):
    """A file whose absence makes gated tasks fail; create it to let them pass."""
    return tmp_path / "gate"


def chain(gate) -> str:
    # d is independent of b, but b fails only once d's shell has exited (it waits for d's
    # marker, then for d's process to be a zombie or gone): in the concurrent modes, a failure
    # of b while d still ran would cancel d (fail fast); a task that ended first keeps its
    # success.
    done = gate.parent / "d.done"
    wait_d = (
        'until [ -s "$DONE" ]; do sleep 0.01; done; pid=$(cat "$DONE"); '
        'while [ -e /proc/$pid ] && ! grep -q "^State:[[:space:]]*Z" /proc/$pid/status; '
        "do sleep 0.01; done"
    )
    return f"""
        [tasks.a]
        cmd = "echo va"
        register = "x"
        [tasks.b]
        cmd = '''echo "b saw {{{{.x}}}}"; {wait_d}; test -f "{gate}"'''
        env = {{ DONE = "{done}" }}
        depends_on = ["a"]
        [tasks.c]
        cmd = "echo c"
        depends_on = ["b"]
        [tasks.d]
        cmd = 'echo d; echo $$ > "{done}.tmp"; mv "{done}.tmp" "{done}"'
    """


def reasons(result) -> dict[str, str]:
    return {e["task_id"]: e.get("reason") for e in result.audit("task_started")}


@pytest.mark.parametrize("mode", MODES)
def test_resume_reuses_unchanged_successes_and_reruns_failures(write_dag, engine, gate, mode):
    first = engine.run(write_dag(chain(gate)), mode)
    assert first.run.status is RunStatus.FAILED
    assert first.states() == {"a": "success", "d": "success", "b": "failed"}
    gate.touch()

    resumed = engine.resume(first.run.id, mode)
    run = resumed.run
    assert run.id == first.run.id
    assert run.status is RunStatus.SUCCESS
    assert run.resume_count == 1
    assert run.last_resume_time is not None
    assert run.error is None
    assert run.failed_task is None
    assert run.start_time == first.run.start_time
    # reused nodes get no new rows
    assert len(resumed.rows("a")) == 1
    assert len(resumed.rows("d")) == 1
    assert sorted(e["task_id"] for e in resumed.audit("task_reused")) == ["a", "d"]
    reused_events = [e for e in resumed.events if e.kind == "task_reused"]
    assert not [e for e in resumed.events if e.kind == "task_skipped"]
    assert {(e.task_id, e.status, e.reason) for e in reused_events} == {
        ("a", "success", "unchanged since run"),
        ("d", "success", "unchanged since run"),
    }
    # failed nodes re-run; attempt numbers continue
    assert [(r.attempt, r.state) for r in resumed.rows("b")] == [
        (1, TaskStatus.FAILED),
        (2, TaskStatus.SUCCESS),
    ]
    assert resumed.row("c").attempt == 1
    assert reasons(resumed) == {"b": "failed in previous run", "c": "not run before"}
    # variables registered before the resume are restored
    assert resumed.log("b", 2) == b"b saw va\n"
    # counters accumulate across resumes
    assert (run.tasks_success, run.tasks_failed) == (4, 1)
    assert resumed.events[0].kind == "run_started"
    assert resumed.events[0].run_status == "resuming"
    assert resumed.events[-1].run_status == "success"
    (resumed_audit,) = resumed.audit("run_resumed")
    assert resumed_audit["resume_count"] == 1
    assert resumed_audit["selection"] is None
    assert resumed_audit["previously_succeeded"] == ["a", "d"]
    assert resumed.audit_types()[-1] == "run_completed"


def test_changed_task_reruns_on_resume(write_dag, engine, gate, tmp_path):
    first = engine.run(write_dag(chain(gate)))
    gate.touch()
    write_dag(chain(gate).replace('cmd = "echo va"', 'cmd = "echo va2"'))
    resumed = engine.resume(first.run.id)
    assert resumed.run.status is RunStatus.SUCCESS
    assert reasons(resumed)["a"] == "changed since run"
    assert [r.attempt for r in resumed.rows("a")] == [1, 2]
    assert resumed.log("b", 2) == b"b saw va2\n"
    assert [e["task_id"] for e in resumed.audit("task_reused")] == ["d"]


def test_resume_retry_budget_applies_per_execution(write_dag, engine, gate):
    dag = write_dag(f"""
        [tasks.a]
        cmd = 'test -f "{gate}"'
        retries = 1
    """)
    first = engine.run(dag)
    assert [r.attempt for r in first.rows("a")] == [1, 2]
    resumed = engine.resume(first.run.id)
    assert resumed.run.status is RunStatus.FAILED
    assert [r.attempt for r in resumed.rows("a")] == [1, 2, 3, 4]
    assert resumed.run.error == "task a failed after 2 attempt(s): exit status 1"
    assert resumed.run.resume_count == 1
    resumed_again = engine.resume(first.run.id)
    assert resumed_again.run.resume_count == 2
    assert [r.attempt for r in resumed_again.rows("a")] == [1, 2, 3, 4, 5, 6]


def test_resume_of_a_cancelled_run(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "sleep 30"
    """)
    first = engine.run(dag, timeout=0.2)
    assert first.run.status is RunStatus.CANCELLED
    write_dag("""
        [tasks.a]
        cmd = "true"
    """)
    resumed = engine.resume(first.run.id)
    assert resumed.run.status is RunStatus.SUCCESS
    assert reasons(resumed) == {"a": "cancelled in previous run"}


def test_resume_uses_the_executors_mode_and_records_it(write_dag, engine, gate):
    first = engine.run(write_dag(chain(gate)), "sequential")
    gate.touch()
    resumed = engine.resume(first.run.id, "work_stealing", workers=3)
    assert resumed.run.execution_mode is ExecutionMode.WORK_STEALING
    assert resumed.run.max_parallel == 3


def test_global_trap_fires_again_on_a_failed_resume(write_dag, engine):
    dag = write_dag("""
        on_failure = "page"
        [tasks.page]
        type = "forensic"
        cmd = "echo paged"
        [tasks.a]
        cmd = "exit 1"
    """)
    first = engine.run(dag)
    resumed = engine.resume(first.run.id)
    assert resumed.run.status is RunStatus.FAILED
    assert len(resumed.audit("forensic_trap_fired")) == 1
    assert [r.attempt for r in resumed.rows(GLOBAL_TRAP_ID)] == [1, 2]


def test_resume_of_a_successful_run_is_refused(write_dag, engine):
    first = engine.run(
        write_dag("""
        [tasks.a]
        cmd = "true"
    """)
    )
    with pytest.raises(ResumeError, match="is not resumable \\(status: success\\)"):
        engine.resume(first.run.id)
    run = engine.store.get_run(first.run.id)
    assert run.resume_count == 0
    assert run.status is RunStatus.SUCCESS


def test_resume_accepts_a_run_id_prefix(write_dag, engine, gate):
    first = engine.run(write_dag(chain(gate)))
    gate.touch()
    resumed = engine.resume(first.run.id[:20])
    assert resumed.run.id == first.run.id
    assert resumed.run.status is RunStatus.SUCCESS


def test_runtime_vars_on_resume_do_not_override_task_variables(write_dag, engine, gate):
    warnings: list[str] = []
    first = engine.run(write_dag(chain(gate)))
    gate.touch()
    resumed = engine.resume(
        first.run.id, runtime_vars={"x": "override"}, executor_kwargs={"warn": warnings.append}
    )
    assert resumed.log("b", 2) == b"b saw va\n"
    assert warnings == ["--var x ignored: variable already set by task a"]


# -- selections -----------------------------------------------------------------------------
def test_resume_from_replays_task_and_descendants_only(write_dag, engine, gate):
    first = engine.run(write_dag(chain(gate)))
    gate.touch()
    resumed = engine.resume(first.run.id, from_task="b")
    assert resumed.run.status is RunStatus.SUCCESS
    assert reasons(resumed) == {"b": "forced by --from", "c": "forced by --from"}
    assert resumed.audit("task_reused") == []
    assert len(resumed.rows("a")) == 1
    assert len(resumed.rows("d")) == 1
    assert resumed.audit("run_resumed")[0]["selection"] == {"from": "b"}


def test_resume_from_forces_successful_tasks_too(write_dag, engine, gate):
    first = engine.run(write_dag(chain(gate)))
    gate.touch()
    resumed = engine.resume(first.run.id, from_task="a")
    assert reasons(resumed) == {
        "a": "forced by --from",
        "b": "forced by --from",
        "c": "forced by --from",
    }
    assert len(resumed.rows("d")) == 1


def test_resume_only_runs_exactly_the_named_nodes(write_dag, engine, gate):
    first = engine.run(write_dag(chain(gate)))
    gate.touch()
    resumed = engine.resume(first.run.id, only=["b"])
    assert reasons(resumed) == {"b": "forced by --only"}
    assert resumed.rows("c") == []
    # c has still not succeeded, so the run is not a success
    assert resumed.run.status is RunStatus.FAILED
    assert resumed.run.error == "1 task(s) have not succeeded: c"
    assert resumed.run.failed_task is None


def test_resume_only_with_comma_list_completes_the_run(write_dag, engine, gate):
    first = engine.run(write_dag(chain(gate)))
    gate.touch()
    resumed = engine.resume(first.run.id, only=["b,c"])
    assert resumed.run.status is RunStatus.SUCCESS
    assert set(reasons(resumed)) == {"b", "c"}


def test_resume_only_refuses_a_dependency_that_has_not_succeeded(write_dag, engine, gate):
    first = engine.run(write_dag(chain(gate)))
    with pytest.raises(
        ResumeError, match="cannot resume with --only: dependency b of c has not succeeded"
    ):
        engine.resume(first.run.id, only=["c"])
    run = engine.store.get_run(first.run.id)
    assert run.status is RunStatus.FAILED
    assert run.resume_count == 0


def test_resume_from_refuses_a_dependency_that_has_not_succeeded(write_dag, engine, gate):
    first = engine.run(write_dag(chain(gate)))
    with pytest.raises(
        ResumeError, match="cannot resume with --from: dependency b of c has not succeeded"
    ):
        engine.resume(first.run.id, from_task="c")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"from_task": "nope"}, "unknown task nope in --from"),
        ({"only": ["a", "nope"]}, "unknown task nope in --only"),
        ({"rerun": ["nope"]}, "unknown task nope in --rerun"),
    ],
)
def test_resume_with_unknown_task_is_refused_before_the_claim(
    write_dag, engine, gate, kwargs, message
):
    first = engine.run(write_dag(chain(gate)))
    with pytest.raises(ResumeError, match=message):
        engine.resume(first.run.id, **kwargs)
    assert engine.store.get_run(first.run.id).status is RunStatus.FAILED


def test_resume_rerun_forces_task_and_descendants_and_reuses_the_rest(write_dag, engine, gate):
    first = engine.run(write_dag(chain(gate)))
    gate.touch()
    resumed = engine.resume(first.run.id, rerun=["a"])
    assert resumed.run.status is RunStatus.SUCCESS
    assert reasons(resumed) == {
        "a": "forced by --rerun",
        "b": "forced by --rerun",
        "c": "forced by --rerun",
    }
    assert [e["task_id"] for e in resumed.audit("task_reused")] == ["d"]


def test_resume_only_matrix_base_name_selects_all_expansions(write_dag, engine, gate):
    dag = write_dag(f"""
        [tasks.m]
        cmd = 'test -f "{gate}"'
        matrix = {{ k = ["x", "y"] }}
    """)
    first = engine.run(dag, "parallel")
    gate.touch()
    resumed = engine.resume(first.run.id, only=["m"])
    assert resumed.run.status is RunStatus.SUCCESS
    assert set(reasons(resumed)) == {"m[k=x]", "m[k=y]"}


def test_resume_restores_variable_owners(write_dag, engine, gate):
    dag_text = chain(gate).replace(
        '[tasks.c]\n        cmd = "echo c"',
        "[tasks.c]\n        cmd = 'echo x=c >> \"$WF_OUTPUT\"'",
    )
    first = engine.run(write_dag(dag_text))
    gate.touch()
    resumed = engine.resume(first.run.id)
    # x came back from the snapshot still owned by a, so c may not take it over
    assert resumed.row("c").error_message == (
        'failed to register output: variable "x" already set by task "a"'
    )


CHILD = """
import sys
from wf.dag import load_dag
from wf.executor import SequentialExecutor
from wf.storage import Store

store = Store(sys.argv[1])
SequentialExecutor(store, logs_dir=sys.argv[3], kill_grace=0.2).execute(load_dag(sys.argv[2]))
"""


@pytest.mark.slow
def test_killed_wf_process_leaves_no_task_behind_and_its_run_resumes(
    write_dag, engine, store, logs_dir, tmp_path, gate, when_log_contains
):
    dag_path = tmp_path / "flow.toml"
    write_dag(f"""
        [tasks.a]
        cmd = 'echo started; test -f "{gate}" || sleep 30'
    """)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, store.path, str(dag_path), str(logs_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started = threading.Event()
    when_log_contains(b"started", started.set).join(20)
    assert started.is_set()
    # Engine writes are group-committed in the background: wait until the running row (with
    # its pid) is in the database, which is the state this test kills wf in.
    deadline = time.monotonic() + 10
    while not [r for r in store.list_task_executions() if r.pid] and time.monotonic() < deadline:
        time.sleep(0.01)
    child.kill()
    child.wait()
    (row,) = store.list_task_executions()
    # the orphan guard kills the task group of a wf process that died abruptly
    deadline = time.monotonic() + 10
    while group_alive(row.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not group_alive(row.pid)

    gate.touch()
    resumed = engine.resume(row.run_id)
    assert resumed.run.status is RunStatus.SUCCESS
    rows = resumed.rows("a")
    assert rows[0].state is TaskStatus.CANCELLED
    assert rows[0].error_message.startswith("interrupted: wf process ")
    assert (rows[1].attempt, rows[1].state) == (2, TaskStatus.SUCCESS)
    assert reasons(resumed) == {"a": "cancelled in previous run"}
    assert [e.event_type for e in store.list_audit_trail(run_id=row.run_id)].count(
        "run_interrupted"
    ) == 1


def test_resume_with_invalid_runtime_var_raises_before_the_claim(write_dag, engine, gate):
    first = engine.run(write_dag(chain(gate)))
    with pytest.raises(ValueError, match="reserved"):
        engine.resume(first.run.id, runtime_vars={"failed_task": "x"})
    run = engine.store.get_run(first.run.id)
    assert (run.status, run.resume_count) == (RunStatus.FAILED, 0)


def test_resume_keeps_the_runs_clean_environment(write_dag, engine, gate, monkeypatch):
    monkeypatch.setenv("WF_TEST_OUTER", "outer")
    dag = write_dag(f"""
        [tasks.a]
        cmd = 'echo "outer=${{WF_TEST_OUTER-unset}}"; test -f "{gate}"'
    """)
    first = engine.run(dag, clean_env=True)
    gate.touch()
    resumed = engine.resume(first.run.id)
    assert resumed.run.clean_env is True
    assert resumed.log("a", 2) == b"outer=unset\n"


def test_a_resumed_attempt_starts_without_the_files_left_under_its_number(write_dag, engine, gate):
    # A run killed before an attempt was on record may have left a WF_OUTPUT file under the
    # number the resumed attempt gets; wf does not create that file, so it removes it first.
    dag = write_dag(f"""
        [tasks.a]
        cmd = 'test -e "{gate}"'
        [tasks.b]
        cmd = 'echo "{{{{.stale}}}}"'
        depends_on = ["a"]
    """)
    first = engine.run(dag)
    assert first.run.status is RunStatus.FAILED
    node_dir = first.logs_dir / first.run.id / "a"
    (node_dir / "attempt_2.output").write_text("stale=left over\n")
    gate.touch()
    resumed = engine.resume(first.run.id)
    assert [r.attempt for r in resumed.rows("a")] == [1, 2]
    assert not (node_dir / "attempt_2.output").exists()
    assert resumed.rows("b")[-1].state is TaskStatus.FAILED  # {{.stale}} was never set
