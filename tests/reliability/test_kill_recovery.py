"""Fault injection: SIGKILL a real ``wf run`` (and, in soak mode, its resumes) at random moments.

After every kill: the database passes ``PRAGMA integrity_check``; the sweep of the next
``wf runs --json`` shows the run ``interrupted``; no process of the killed run survives (the
orphan guard kills every registered process group); ``wf resume`` completes the run; every node
ends with exactly one ``success`` row, which is its latest row, and the log of every successful
attempt is there.

**At-least-once window.** Engine writes are group-committed asynchronously (the store writer),
so a task whose process finished just before the kill may have no committed ``success`` row
yet. Its row is then swept to ``cancelled`` and the resume runs it again: the task ran twice.
What the suite asserts is the guarantee wf gives: a task whose ``success`` row was *committed*
before the kill never runs again. Every task appends one line to its own marker file when it
finishes; tasks with a committed success keep exactly the lines they had at the kill.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from reliability_helpers import (
    SOAK,
    integrity,
    kill_all,
    raw_db,
    read_pids,
    record,
    runs_json,
    scale,
    task_alive,
    wait_dead,
    wait_for,
    wf_cmd,
    wf_env,
)

pytestmark = pytest.mark.slow

TASK_SH = """\
# task.sh SECONDS [flaky]: record pids, sleep in a background child, finish with a marker line.
echo "$$" >> "$MARKS/pids"
echo "start $WF_TASK_ID attempt $WF_ATTEMPT"
sleep "$1" &
echo "$!" >> "$MARKS/pids"
wait
if [ "$2" = flaky ] && [ "$WF_ATTEMPT" = 1 ]; then echo "flaky first attempt" >&2; exit 3; fi
printf '%s\\n' "$WF_ATTEMPT" >> "$MARKS/done.$WF_TASK_ID"
echo "ok $WF_TASK_ID $WF_ATTEMPT"
"""

WORKFLOW = """\
name = "mixed"

[tasks.start]
cmd = 'sh "$MARKS/task.sh" 0.05'

[tasks.chain1]
cmd = 'sh "$MARKS/task.sh" 0.1'
depends_on = ["start"]

[tasks.chain2]
cmd = 'sh "$MARKS/task.sh" 0.1'
depends_on = ["chain1"]

[tasks.chain3]
cmd = 'sh "$MARKS/task.sh" 0.1; echo "chain=3" >> "$WF_OUTPUT"'
depends_on = ["chain2"]

[tasks.fan]
matrix = { n = [1, 2, 3, 4] }
cmd = 'sh "$MARKS/task.sh" 0.1'
depends_on = ["start"]

[tasks.flaky]
cmd = 'sh "$MARKS/task.sh" 0.05 flaky'
retries = 2
retry_delay = "100ms"
depends_on = ["start"]

[tasks.bg]
cmd = '(sleep 0.3; echo late) & echo $! >> "$MARKS/pids"; sh "$MARKS/task.sh" 0.05'
depends_on = ["start"]

[tasks.join]
cmd = 'sh "$MARKS/task.sh" 0.05'
depends_on = ["chain3", "fan", "flaky", "bg"]

[tasks.final]
cmd = 'sh "$MARKS/task.sh" 0.05'
register = "result"
depends_on = ["join"]
"""

NODES = [
    "start",
    "chain1",
    "chain2",
    "chain3",
    "fan[n=1]",
    "fan[n=2]",
    "fan[n=3]",
    "fan[n=4]",
    "flaky",
    "bg",
    "join",
    "final",
]

MODES = {"sequential": ["--sequential"], "j2": ["-j", "2"]}
# Rough length of an uninterrupted run after its first task started (seconds).
EXPECTED = {"sequential": 1.6, "j2": 1.0}
KILL_POINTS = scale(3, 12)
# In soak mode a resume may be killed too, before the final resume completes the run.
RESUME_KILLS = scale(0, 1)


class Scene:
    """One workflow, its marker directory and its WF_HOME."""

    def __init__(self, tmp_path: Path) -> None:
        self.home = tmp_path / "home"
        self.marks = tmp_path / "marks"
        self.marks.mkdir()
        (self.marks / "task.sh").write_text(TASK_SH)
        self.workflow = tmp_path / "mixed.toml"
        self.workflow.write_text(WORKFLOW)
        self.env = wf_env(self.home, MARKS=str(self.marks), WF_KILL_GRACE="1s")
        self.db = self.home / "wf.db"

    def done_counts(self) -> dict[str, int]:
        """Marker lines per node: how many times each task finished its work."""
        return {
            node: len((self.marks / f"done.{node}").read_text().split())
            if (self.marks / f"done.{node}").exists()
            else 0
            for node in NODES
        }

    def pids(self) -> list[int]:
        return read_pids(self.marks / "pids")

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        with open(self.marks.parent / "wf.out", "ab") as out:
            return subprocess.Popen(wf_cmd(*args), env=self.env, stdout=out, stderr=out)

    def committed_successes(self, run_id: str) -> set[str]:
        with raw_db(self.db) as conn:
            rows = conn.execute(
                "SELECT task_id FROM task_executions WHERE run_id = ? AND state = 'success'",
                (run_id,),
            )
            return {str(r[0]) for r in rows}


def _kill_at_random(proc: subprocess.Popen[bytes], delay: float) -> bool:
    """SIGKILL PROC after DELAY seconds; False when it had already finished."""
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    return True


def _after_kill(scene: Scene, run_id: str | None) -> dict[str, Any]:
    """The checks every kill must pass; returns what was committed at the kill."""
    survivors = wait_dead(scene.pids(), timeout=10)
    assert not survivors, f"processes of the killed run survived: {survivors}"
    assert integrity(scene.db) == "ok"
    runs = runs_json(scene.env)  # sweeps
    assert len(runs) == 1, runs
    run = runs[0]
    if run_id is not None:
        assert run["id"] == run_id
    committed = scene.committed_successes(run["id"])
    return {"run": run, "committed": committed, "counts": scene.done_counts()}


@pytest.mark.parametrize("point", range(KILL_POINTS))
@pytest.mark.parametrize("mode", list(MODES))
def test_sigkill_at_a_random_moment_then_resume_completes_without_rerunning_successes(
    tmp_path: Path, mode: str, point: int
) -> None:
    rng = random.Random(f"kill-{mode}-{point}")  # a fixed seed per test
    scene = Scene(tmp_path)
    kills = resumes = late_kills = 0
    committed_at_kills: list[int] = []
    frozen: dict[str, int] = {}

    def assert_no_committed_success_ran_again() -> None:
        after = scene.done_counts()
        rerun = {node: (n, after[node]) for node, n in frozen.items() if after[node] != n}
        assert not rerun, f"tasks with a committed success ran again: {rerun}"

    try:
        proc = scene.start("run", str(scene.workflow), "--plain", *MODES[mode])
        wait_for((scene.marks / "pids").exists, what="the first task")
        killed = _kill_at_random(proc, rng.uniform(0.0, EXPECTED[mode]))
        run_id: str | None = None
        while killed:
            kills += 1
            seen = _after_kill(scene, run_id)
            assert_no_committed_success_ran_again()
            run = seen["run"]
            run_id = run["id"]
            assert set(frozen) <= seen["committed"], "a committed success row went away"
            committed_at_kills.append(len(seen["committed"]))
            if run["status"] == "success":
                late_kills += 1
                break  # killed after the run row was final: nothing left to resume
            assert run["status"] == "interrupted", run
            frozen = {node: seen["counts"][node] for node in seen["committed"]}
            resumes += 1
            proc = scene.start("resume", run_id[:10], "--plain")
            killed = resumes <= RESUME_KILLS and _kill_at_random(
                proc, rng.uniform(0.1, EXPECTED[mode])
            )
        # The last process exited 0, unless it was killed after writing the final run row.
        assert proc.wait(timeout=60) in ((0, -9) if killed else (0,)), "the last wf failed"
        assert not wait_dead(scene.pids(), timeout=10)
        assert_no_committed_success_ran_again()
        _final_checks(scene)
        reexecuted = sorted(node for node, n in scene.done_counts().items() if n > 1)
    finally:
        kill_all(scene.pids())
    record(
        "kill",
        mode=mode,
        point=point,
        kills=kills,
        resumes=resumes,
        committed_at_kills=committed_at_kills,
        after_final_row=late_kills,
        reexecuted=reexecuted,
    )


def _final_checks(scene: Scene) -> None:
    runs = runs_json(scene.env)
    assert [r["status"] for r in runs] == ["success"], runs
    run_id = runs[0]["id"]
    assert integrity(scene.db) == "ok"
    with raw_db(scene.db) as conn:
        rows = conn.execute(
            "SELECT task_id, state, attempt, log_path FROM task_executions "
            "WHERE run_id = ? AND is_forensic = 0 ORDER BY id",
            (run_id,),
        ).fetchall()
        audit = [
            str(r[0])
            for r in conn.execute(
                "SELECT event_type FROM audit_trail WHERE run_id = ? ORDER BY id", (run_id,)
            )
        ]
    latest: dict[str, str] = {}
    successes: dict[str, int] = {}
    for row in rows:
        latest[row["task_id"]] = row["state"]
        if row["state"] == "success":
            successes[row["task_id"]] = successes.get(row["task_id"], 0) + 1
            # No log of a succeeded attempt is missing, and it holds that attempt's output.
            log = Path(row["log_path"])
            assert log.is_file(), f"log of {row['task_id']} attempt {row['attempt']} missing"
            assert f"ok {row['task_id']} {row['attempt']}" in log.read_text()
    assert sorted(latest) == sorted(NODES)
    assert set(latest.values()) == {"success"}, latest
    assert successes == dict.fromkeys(NODES, 1), successes
    counts = scene.done_counts()
    assert all(counts[node] >= 1 for node in NODES), counts
    assert audit[0] == "run_started"
    assert audit[-1] == "run_completed"
    assert audit.count("run_interrupted") == audit.count("run_resumed")
    assert not [p for p in scene.pids() if task_alive(p)]


def test_soak_flag_is_reported() -> None:
    """Keeps the scale visible in the test output (and in the report's figures)."""
    record("scale", soak=SOAK, kill_points=KILL_POINTS, resume_kills=RESUME_KILLS)
