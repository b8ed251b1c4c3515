"""``wf status`` (docs/cli.md#wf-status): one view of a finished run, refreshes of a running one."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from wf.cli.commands.status import render_status
from wf.cli.fmt import Style
from wf.config import load_config
from wf.dag import load_dag
from wf.executor import SequentialExecutor
from wf.inspection import RunStatusView, run_status_view
from wf.storage import Run, RunStatus, Store, TaskExecution, TaskStatus


def test_finished_run_is_shown_once_and_exits_0(wf, flow_run):
    code, out, _ = wf("status", flow_run, "--interval", "5")
    assert code == 0
    assert out.count("=== LIVE STATUS") == 1
    assert f"=== LIVE STATUS  run={flow_run} ===" in out
    assert "Workflow: flow" in out
    assert "FAILED" in out
    assert "TASK" in out
    assert "ATTEMPT" in out
    assert "build" in out


def test_json_prints_one_object_per_refresh(wf, flow_run):
    code, out, _ = wf("status", flow_run[:7], "-j")
    assert code == 0
    (line,) = out.splitlines()
    data = json.loads(line)
    assert set(data) == {"run", "tasks"}
    assert data["run"]["id"] == flow_run
    assert [t["task_id"] for t in data["tasks"]] == ["fetch", "build", "__GLOBAL_FAILURE_TRAP__"]


def test_unknown_run_exits_1(wf, flow_run):
    code, _, err = wf("status", "nope")
    assert code == 1
    assert "run not found: nope" in err


@pytest.mark.parametrize("interval", ["0", "-1", "abc", "nan"])
def test_invalid_interval_is_a_usage_error(wf, flow_run, interval):
    code, _, err = wf("status", flow_run, "--interval", interval)
    assert code == 2
    assert "Run 'wf status --help' for usage." in err


def _start_run_in_thread(write_workflow, wf_home, store):
    """Start a run with a 0.5 s task in a thread; return (thread, run_id) once it exists."""
    path = write_workflow(
        """\
        [tasks.first]
        cmd = "true"

        [tasks.slow]
        cmd = "sleep 0.5"
        depends_on = ["first"]
        """,
        name="slow",
    )
    config = load_config()

    def run() -> None:
        with Store(config.database_path) as own:
            SequentialExecutor(own, logs_dir=config.logs_dir).execute(load_dag(path))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not store.list_runs() and time.monotonic() < deadline:
        time.sleep(0.01)
    (created,) = store.list_runs()
    return thread, created.id


def test_running_run_refreshes_until_it_succeeds(wf, write_workflow, wf_home, store):
    thread, run_id = _start_run_in_thread(write_workflow, wf_home, store)
    code, out, _ = wf("status", run_id, "--interval", "0.05")
    thread.join(10)
    assert code == 0
    views = out.split("=== LIVE STATUS")[1:]
    assert len(views) >= 3
    assert "RUNNING" in views[0]
    assert "SUCCESS" in views[-1]
    assert all("SUCCESS" not in v for v in views[:-1])
    assert "\x1b[" not in out  # no screen clearing without a colour terminal


def test_running_run_json_lines_end_with_the_terminal_status(wf, write_workflow, wf_home, store):
    thread, run_id = _start_run_in_thread(write_workflow, wf_home, store)
    code, out, _ = wf("status", run_id, "--json", "--interval", "0.05")
    thread.join(10)
    assert code == 0
    statuses = [json.loads(line)["run"]["status"] for line in out.splitlines()]
    assert len(statuses) >= 3
    assert statuses[0] == "running"
    assert statuses[-1] == "success"
    assert statuses.count("success") == 1


def test_each_refresh_runs_the_interruption_sweep(wf, store, monkeypatch):
    """A run whose owner is gone becomes interrupted on a refresh, and status then exits."""
    now = datetime.now(UTC)
    run_id = store.create_run(
        Run(
            workflow_name="ghost",
            workflow_file="/ghost.toml",
            status=RunStatus.RUNNING,
            start_time=now,
            heartbeat_at=now,
        )
    )
    calls = []
    original = Store.mark_interrupted_runs

    def sweep(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # the owner "disappears" after two refreshes
            run = self.get_run(run_id)
            run.status = RunStatus.INTERRUPTED
            run.end_time = now
            self.update_run(run)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Store, "mark_interrupted_runs", sweep)
    code, out, _ = wf("status", run_id, "-j", "--interval", "0.01")
    assert code == 0
    statuses = [json.loads(line)["run"]["status"] for line in out.splitlines()]
    assert statuses == ["running", "running", "interrupted"]
    assert len(calls) == 3  # once on opening the store, then once per refresh


# -- rendering --------------------------------------------------------------------------

T0 = datetime(2026, 3, 13, 9, 15, 2, tzinfo=UTC)


def test_rendered_view_counts_latest_states_and_waiting_nodes():
    run = Run(id="R" * 27, workflow_name="w", status=RunStatus.RUNNING, start_time=T0)
    run.total_tasks = 4
    rows = [
        TaskExecution(id=1, task_id="a", state=TaskStatus.SUCCESS, duration_ms=1500),
        TaskExecution(id=2, task_id="b", state=TaskStatus.RUNNING, attempt=2),
    ]
    view = RunStatusView(run, rows, taken_at=T0 + timedelta(seconds=12))
    style = Style(SimpleNamespace(encoding="utf-8"), colour=False)  # type: ignore[arg-type]
    text = render_status(view, style)
    assert text.splitlines()[:5] == [
        f"=== LIVE STATUS  run={'R' * 27} ===",
        "Workflow: w",
        "Status:   ⟳ RUNNING",
        "Elapsed:  12.0s",
        "Tasks:    4 total  1✓  0✗  0⊘  1⟳  (2 waiting)",
    ]
    assert text.splitlines()[-2:] == [
        "a     ✓ success  1        1.5s",
        "b     ⟳ running  2        -",
    ]


def test_library_view_of_a_finished_run(store, flow_run):
    view = run_status_view(store, flow_run)
    assert view.terminal
    assert view.elapsed_ms == view.run.duration_ms
    assert view.counts()["failed"] == 1
