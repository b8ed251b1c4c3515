"""Shared helpers of the reliability suite: scale, subprocess wf, processes, raw SQLite, figures.

Fast mode (the default) runs inside the normal test suite. ``WF_SOAK=1`` selects the soak
scale: more kill points, bigger outputs, bigger DAGs. ``WF_RELIABILITY_FIGURES=FILE`` makes the
tests append what they tried and what held, one JSON object per line, to FILE; the report
script (``bench/reliability.py``) turns those lines into ``docs/reliability.md``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOAK = os.environ.get("WF_SOAK", "") not in ("", "0")
FIGURES_ENV = "WF_RELIABILITY_FIGURES"


def scale(fast: int, soak: int) -> int:
    """FAST in the normal suite, SOAK with ``WF_SOAK=1``."""
    return soak if SOAK else fast


# -- figures ---------------------------------------------------------------------------------------
def record(scenario: str, **values: Any) -> None:
    """Append one figure line for the report (a no-op unless WF_RELIABILITY_FIGURES is set).

    One ``write`` of one line on an O_APPEND descriptor, so xdist workers do not interleave.
    """
    target = os.environ.get(FIGURES_ENV)
    if not target:
        return
    line = json.dumps({"scenario": scenario, "soak": SOAK, **values}, sort_keys=True) + "\n"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


# -- wf as a subprocess ----------------------------------------------------------------------------
def wf_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a wf subprocess: this test's WF_HOME, no colour, plus EXTRA."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WF_")}
    env.update({"WF_HOME": str(home), "NO_COLOR": "1", **extra})
    return env


def wf_cmd(*args: str) -> list[str]:
    """argv of ``python -m wf ARGS``."""
    return [sys.executable, "-m", "wf", *args]


def run_wf(
    *args: str, env: dict[str, str], timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``wf ARGS`` to completion and capture its output."""
    return subprocess.run(
        wf_cmd(*args),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
    )


def runs_json(env: dict[str, str]) -> list[dict[str, Any]]:
    """``wf runs --json -l 0`` (which also sweeps for interrupted runs), newest first."""
    listed = run_wf("runs", "--json", "-l", "0", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "Traceback" not in listed.stderr
    if "No runs found" in listed.stdout:
        return []
    runs: list[dict[str, Any]] = json.loads(listed.stdout)["runs"]
    return runs


def assert_clean_error(result: subprocess.CompletedProcess[str], *codes: int) -> None:
    """A failed command: documented exit code, an ``Error:`` line, and no traceback."""
    text = result.stdout + result.stderr
    assert result.returncode in codes, f"exit {result.returncode}\n{text}"
    assert "Traceback" not in text, text
    assert any(line.startswith("Error: ") for line in result.stderr.splitlines()), text


# -- processes -------------------------------------------------------------------------------------
def alive(pid: int) -> bool:
    """True when PID exists and is not a zombie (zombies are reaped by PID 1 eventually)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def task_alive(pid: int) -> bool:
    """``alive(PID)``, and PID runs with a wf task's environment (``WF_RUN_ID``): it is still a
    process a task started. PIDs wrap quickly here (pid_max 32768): an ID recorded by a task
    that has since ended may now name another test's process, such as a wf's orphan guard,
    which must be neither killed nor counted as a survivor."""
    if not alive(pid):
        return False
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            return b"\0WF_RUN_ID=" in b"\0" + fh.read()
    except OSError:
        return False


def read_pids(path: Path) -> list[int]:
    """Every integer in PATH (one or more per line); [] when PATH does not exist."""
    if not path.exists():
        return []
    return [int(tok) for tok in path.read_text().split() if tok.isdigit()]


def wait_dead(pids: Iterable[int], timeout: float = 10.0) -> list[int]:
    """Wait until no PID is alive; return the survivors after TIMEOUT."""
    pending = list(pids)
    deadline = time.monotonic() + timeout
    while True:
        pending = [p for p in pending if task_alive(p)]
        if not pending or time.monotonic() >= deadline:
            return pending
        time.sleep(0.05)


def kill_all(pids: Iterable[int]) -> None:
    """SIGKILL PIDS that are still alive (test cleanup of processes the test started)."""
    for pid in pids:
        if task_alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def wait_for(predicate: Any, timeout: float = 20.0, what: str = "condition") -> None:
    """Poll PREDICATE until it is true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(0.02)


# -- raw SQLite ------------------------------------------------------------------------------------
@contextlib.contextmanager
def raw_db(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection to the wf database (reads, checks, hostile writes)."""
    conn = sqlite3.connect(path, timeout=10, isolation_level=None)
    conn.row_factory = sqlite3.Row
    try:
        yield conn
    finally:
        conn.close()


def integrity(path: Path) -> str:
    """``PRAGMA integrity_check`` of PATH: ``ok`` when the database is consistent."""
    with raw_db(path) as conn:
        return "; ".join(str(row[0]) for row in conn.execute("PRAGMA integrity_check"))


def quick_check(path: Path) -> str:
    """``PRAGMA quick_check`` of PATH."""
    with raw_db(path) as conn:
        return "; ".join(str(row[0]) for row in conn.execute("PRAGMA quick_check"))


def statuses(path: Path) -> list[str]:
    """Every run's status."""
    with raw_db(path) as conn:
        return [str(r[0]) for r in conn.execute("SELECT status FROM runs")]


# -- mounts (root only) ----------------------------------------------------------------------------
def try_mount_tmpfs(target: Path, *options: str) -> str | None:
    """Mount a tmpfs on TARGET with OPTIONS; return None, or why it is not possible here."""
    if not sys.platform.startswith("linux"):
        return "tmpfs mounts need Linux"
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    target.mkdir(parents=True, exist_ok=True)
    opts = ",".join(options) or "defaults"
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return f"mount -t tmpfs not permitted here: {done.stderr.strip() or done.returncode}"
    return None


def umount(target: Path) -> None:
    """Unmount TARGET (lazily, so a leftover open file cannot keep it busy)."""
    subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)


# -- history ---------------------------------------------------------------------------------------
HISTORY_STATUSES = ("success", "success", "success", "failed", "cancelled", "interrupted")


def build_history(db: Path, runs: int, *, tasks_per_run: int = 3, workflows: int = 20) -> str:
    """Insert RUNS finished runs (with attempt rows and audit entries) straight through the
    Store, one transaction per 1,000 runs; return the ID of the newest run."""
    from datetime import UTC, datetime, timedelta

    from wf.storage import Run, RunStatus, Store, TaskExecution, TaskStatus

    start = datetime.now(UTC) - timedelta(seconds=runs * 60)
    newest = ""
    with Store(db) as store:
        for first in range(0, runs, 1000):
            with store.transaction():
                for i in range(first, min(runs, first + 1000)):
                    status = RunStatus(HISTORY_STATUSES[i % len(HISTORY_STATUSES)])
                    began = start + timedelta(seconds=i * 60)
                    ended = began + timedelta(milliseconds=500 + i % 5000)
                    run = Run(
                        workflow_name=f"flow-{i % workflows}",
                        workflow_file=f"/nonexistent/flow-{i % workflows}.toml",
                        status=status,
                        start_time=began,
                        end_time=ended,
                        duration_ms=500 + i % 5000,
                        total_tasks=tasks_per_run,
                        tags=["history", f"t{i % 7}"],
                        error=None if status is RunStatus.SUCCESS else f"{status} for a test",
                    )
                    newest = store.create_run(run)
                    for t in range(tasks_per_run):
                        ok = status is RunStatus.SUCCESS or t < tasks_per_run - 1
                        store.create_task_execution(
                            TaskExecution(
                                run_id=newest,
                                task_id=f"task{t}",
                                task_name=f"task{t}",
                                command="true",
                                state=TaskStatus.SUCCESS if ok else TaskStatus.FAILED,
                                start_time=began,
                                end_time=ended,
                                duration_ms=100,
                                exit_code=0 if ok else 1,
                                attempt=1,
                            )
                        )
                    store.create_audit_entry(newest, "run_started", '{"workflow":"x"}')
                    store.create_audit_entry(newest, "run_completed", '{"status":"x"}')
    return newest


# -- in-process runs (the run_flow fixture) ---------------------------------------------------
@dataclass
class Outcome:
    """One in-process ``wf run`` and what it left in the database."""

    code: int
    out: str
    err: str
    run: dict[str, Any]
    rows: list[dict[str, Any]]
    variables: dict[str, str]

    def row(self, task_id: str) -> dict[str, Any]:
        """The latest row of TASK_ID."""
        matching = [r for r in self.rows if r["task_id"] == task_id]
        assert matching, f"no row for {task_id}"
        return matching[-1]


RunFlow = Callable[..., Outcome]
