"""End-to-end runs of the installed ``wf`` command in a tmp WF_HOME.

See docs/cli.md, docs/executors.md.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_samples import FAILING, WriteWorkflow, wf_command

import wf as wf_package
from wf.storage import Store

Proc = Callable[..., subprocess.CompletedProcess[str]]
Wf = Callable[..., tuple[int, str, str]]

pytestmark = pytest.mark.skipif(os.name != "posix", reason="signals and process groups: POSIX")


def test_installed_command_reports_its_version(wf_process: Proc) -> None:
    done = wf_process(["--version"])
    assert done.returncode == 0
    assert done.stdout.strip() == f"wf {wf_package.__version__}"


def test_python_dash_m_wf_works_too() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "wf", "--version"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("wf ")


def test_init_and_run_the_example_with_plain_output_when_piped(
    wf_process: Proc, wf_home: Path
) -> None:
    assert wf_process(["init", "--example"]).returncode == 0
    done = wf_process(["run", "hello"])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("▶ run ")
    assert "workflow=hello mode=sequential tasks=2" in lines[0]
    assert any(line.startswith("→ greet ") for line in lines)
    assert any(line.startswith("✓ greet ") for line in lines)
    assert any(line.startswith("■ done run ") and line.endswith("SUCCESS") for line in lines)
    assert "=== EXECUTION RESULT ===" in lines
    assert any(line.startswith("Tasks:    2 total") for line in lines)
    assert "\x1b[" not in done.stdout
    assert (wf_home / "wf.db").is_file()


def test_failed_run_exits_1_with_the_failure_summary(
    wf_process: Proc, write_workflow: WriteWorkflow
) -> None:
    write_workflow("failing", FAILING)
    done = wf_process(["run", "failing"])
    assert done.returncode == 1
    assert "Root cause: build (Build site)" in done.stdout
    assert "Resume with: wf resume " in done.stdout
    assert done.stderr.startswith("Error: run ")
    assert "Traceback" not in done.stderr


def test_usage_error_exits_2_without_traceback(wf_process: Proc) -> None:
    done = wf_process(["run", "../../etc/passwd", "--bogus"])
    assert done.returncode == 2
    assert "Error:" in done.stderr
    assert "Traceback" not in done.stderr


def _live_group_members(pgid: int) -> list[int]:
    """PIDs of non-zombie processes in process group PGID (Linux /proc; else killpg)."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        return [pgid]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            members.append(int(entry.name))
    return members


def _wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_mid_run_cancels_it_exits_130_and_leaves_no_process(
    write_workflow: WriteWorkflow, wf_home: Path, wf: Wf, signum: int
) -> None:
    write_workflow("napping", "[tasks.nap]\ncmd = 'echo started; sleep 10'\n")
    proc = subprocess.Popen(
        [*wf_command(), "run", "napping"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:

        def task_is_running() -> bool:
            logs = list((wf_home / "logs").glob("*/nap/attempt_1.log"))
            return bool(logs) and "started" in logs[0].read_text()

        assert _wait_for(task_is_running), "the task never started"
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, out + err
    assert "cancelling run (press Ctrl+C again to kill immediately)" in err
    name = "SIGINT" if signum == signal.SIGINT else "SIGTERM"
    assert f"cancelled: received {name}" in err
    assert "Traceback" not in err
    assert "Status:   ⊗ CANCELLED" in out

    _, listing, _ = wf("runs", "--json")
    (run,) = json.loads(listing)["runs"]
    assert run["status"] == "cancelled"
    assert run["error"] == f"cancelled: received {name}"
    with Store(wf_home / "wf.db") as store:
        (attempt,) = store.list_task_executions(run_id=run["id"])
    assert attempt.state == "cancelled"
    assert attempt.pid
    assert _wait_for(lambda: not _live_group_members(attempt.pid), timeout=5), (
        f"processes of the cancelled attempt survived: {_live_group_members(attempt.pid)}"
    )
