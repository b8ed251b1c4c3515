"""End to end: wf killed with SIGKILL mid-run, detected as interrupted, then resumed."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

WORKFLOW = """
name = "interrupt-me"

[tasks.first]
cmd = 'echo once >> "$MARKS/first"'

[tasks.slow]
cmd = 'echo started > "$MARKS/slow-started"; sleep 30 & echo $! > "$MARKS/slow-child"; wait'
depends_on = ["first"]

[tasks.last]
cmd = "echo last"
depends_on = ["slow"]
"""


def _env(home: Path, marks: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"WF_HOME": str(home), "MARKS": str(marks), "NO_COLOR": "1"})
    return env


def _wf(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wf", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _wait_for(path: Path, timeout: float = 20.0) -> None:
    """Wait until PATH exists and has content (the shell creates it before writing to it)."""
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text().strip():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def _wait_on_record(db: Path, task_id: str, timeout: float = 20.0) -> None:
    """Wait until TASK_ID's attempt is on record as running. A started attempt is committed
    within one turn of the engine's loop (docs/architecture.md), which under load can come
    after the task has already written its first file."""
    deadline = time.monotonic() + timeout
    query = "SELECT 1 FROM task_executions WHERE task_id = ? AND state = 'running'"
    while True:
        if db.exists():
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
            try:
                if conn.execute(query, (task_id,)).fetchone():
                    return
            except sqlite3.OperationalError:
                pass  # the schema is not there yet
            finally:
                conn.close()
        assert time.monotonic() < deadline, f"{task_id} never went on record"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("mode", [["--sequential"], ["-j", "2"]])
def test_sigkilled_run_is_interrupted_then_resumed_without_rerunning_successes(
    tmp_path: Path, mode: list[str]
) -> None:
    home, marks = tmp_path / "home", tmp_path / "marks"
    marks.mkdir()
    workflow = tmp_path / "interrupt-me.toml"
    workflow.write_text(WORKFLOW)
    env = _env(home, marks)
    proc = subprocess.Popen(
        [sys.executable, "-m", "wf", "run", str(workflow), "--plain", *mode],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for(marks / "slow-child")
    child = int((marks / "slow-child").read_text())
    _wait_on_record(home / "wf.db", "slow")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)

    # The orphan guard kills the attempt's whole process group once wf is gone.
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "a process of the killed run survived"

    listed = _wf("runs", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)["runs"]
    assert [r["status"] for r in runs] == ["interrupted"]
    run_id = runs[0]["id"]

    inspect_rows = _wf("logs", run_id[:10], "slow", env=env)
    assert "cancelled" in inspect_rows.stdout

    (marks / "slow-child").unlink()
    workflow.write_text(WORKFLOW.replace('sleep 30 & echo $! > "$MARKS/slow-child"; wait', "true"))
    resumed = _wf("resume", run_id[:8], "--plain", env=env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "= reused first" in resumed.stdout
    assert (marks / "first").read_text() == "once\n"

    final = json.loads(_wf("runs", "--json", env=env).stdout)["runs"][0]
    assert final["id"] == run_id
    assert final["status"] == "success"
    assert final["resume_count"] == 1
