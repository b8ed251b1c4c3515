"""End to end: concurrent wf processes on one database, and Ctrl+C of a work-stealing run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

FAN = """
name = "fan"
[tasks.root]
cmd = "true"
[tasks.leaf]
matrix = { n = [1, 2, 3, 4, 5, 6] }
depends_on = ["root"]
cmd = 'echo "v{{.n}}=x" >> "$WF_OUTPUT"'
[tasks.join]
depends_on = ["leaf"]
cmd = "true"
"""

INFLIGHT = """
name = "inflight"
[tasks.spin]
matrix = { n = [1, 2, 3] }
cmd = 'echo $$ >> "$MARKS/pids"; sleep 30 & echo $! >> "$MARKS/pids"; wait'
"""


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"WF_HOME": str(home), "NO_COLOR": "1", **extra})
    return env


def test_eight_concurrent_runs_share_one_database_without_lock_errors(tmp_path: Path) -> None:
    home = tmp_path / "home"
    workflow = tmp_path / "fan.toml"
    workflow.write_text(FAN)
    env = _env(home)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "wf", "run", str(workflow), "-j", "2", "--plain"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out + err
        assert "database is locked" not in out + err
    listed = subprocess.run(
        [sys.executable, "-m", "wf", "runs", "--json", "-l", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    runs = json.loads(listed.stdout)["runs"]
    assert len(runs) == 8
    assert {r["status"] for r in runs} == {"success"}
    assert {r["tasks_success"] for r in runs} == {8}


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_ctrl_c_of_a_work_stealing_run_cancels_everything_and_exits_130(tmp_path: Path) -> None:
    home, marks = tmp_path / "home", tmp_path / "marks"
    marks.mkdir()
    workflow = tmp_path / "inflight.toml"
    workflow.write_text(INFLIGHT)
    proc = subprocess.Popen(
        [sys.executable, "-m", "wf", "run", str(workflow), "-j", "3", "--plain"],
        env=_env(home, MARKS=str(marks), WF_KILL_GRACE="1s"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pids_file = marks / "pids"
    deadline = time.monotonic() + 20
    while not (pids_file.exists() and len(pids_file.read_text().split()) >= 6):
        assert time.monotonic() < deadline, "the three tasks never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    assert "cancelling run" in err
    assert "cancelled: received SIGINT" in err
    pids = [int(p) for p in pids_file.read_text().split()]
    assert not [p for p in pids if _alive(p)], "processes of the cancelled run survived"
    runs = json.loads(
        subprocess.run(
            [sys.executable, "-m", "wf", "runs", "--json"],
            env=_env(home),
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    )["runs"]
    assert runs[0]["status"] == "cancelled"
