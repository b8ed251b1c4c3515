"""Load: many concurrent writers and readers on one database, a very large DAG, a long history.

Times are recorded as figures for the report (``bench/reliability.py``), never asserted.
tests/e2e/test_concurrency.py runs eight concurrent ``wf run``; here the writers share the
database with readers polling ``wf runs``/``wf health`` and with a concurrent ``wf resume``.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from reliability_helpers import (
    build_history,
    integrity,
    record,
    run_wf,
    runs_json,
    scale,
    wf_cmd,
    wf_env,
)

pytestmark = pytest.mark.slow

FAN = """
name = "fan"
[tasks.root]
cmd = "true"
[tasks.leaf]
matrix = { n = [1, 2, 3, 4, 5, 6] }
depends_on = ["root"]
cmd = 'sleep 0.3; echo "v{{.n}}=x" >> "$WF_OUTPUT"; echo leaf {{.n}}'
[tasks.join]
depends_on = ["leaf"]
cmd = "true"
"""


def test_concurrent_writers_readers_and_a_resume_share_one_database(tmp_path: Path) -> None:
    writers = scale(8, 16)
    home = tmp_path / "home"
    env = wf_env(home)
    fan = tmp_path / "fan.toml"
    fan.write_text(FAN)
    flaky = tmp_path / "flaky.toml"
    flaky.write_text(f'name = "flaky"\n[tasks.a]\ncmd = "test -e {tmp_path}/fixed"\n')
    assert run_wf("run", str(flaky), "--plain", env=env).returncode == 1
    (failed,) = runs_json(env)
    (tmp_path / "fixed").touch()

    started = time.monotonic()
    procs = [
        subprocess.Popen(
            wf_cmd("run", str(fan), "-j", "2", "--plain"),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(writers)
    ]
    procs.append(
        subprocess.Popen(
            wf_cmd("resume", failed["id"], "--plain"),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    )
    reads = 0
    while any(p.poll() is None for p in procs):
        for args in (["runs", "--json", "-l", "0"], ["health", "--json"]):
            seen = run_wf(*args, env=env)
            assert "database is locked" not in seen.stderr
            assert "Traceback" not in seen.stderr
            assert seen.returncode in (0, 1), seen.stderr  # health is 1 while runs are young
            json.loads(seen.stdout)
            reads += 1
    elapsed = time.monotonic() - started
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, out + err
        assert "database is locked" not in out + err
    runs = runs_json(env)
    assert len(runs) == writers + 1
    assert {r["status"] for r in runs} == {"success"}
    assert sorted(r["tasks_success"] for r in runs) == [1] + [8] * writers
    assert integrity(home / "wf.db") == "ok"
    record(
        "concurrency",
        writers=writers,
        resumes=1,
        reader_queries=reads,
        seconds=round(elapsed, 1),
        held=True,
    )


def _layered_workflow(path: Path, tasks: int) -> None:
    """TASKS tasks, each depending on the task whose index is a tenth of its own."""
    lines = ['name = "large"']
    for i in range(tasks):
        lines.append(f'[tasks.t{i:05d}]\ncmd = "true"')
        if i >= 10:
            lines.append(f'depends_on = ["t{i // 10:05d}"]')
    path.write_text("\n".join(lines) + "\n")


def test_a_very_large_dag_runs_to_success(tmp_path: Path) -> None:
    tasks = scale(2000, 10_000)
    home = tmp_path / "home"
    env = wf_env(home)
    workflow = tmp_path / "large.toml"
    _layered_workflow(workflow, tasks)
    started = time.monotonic()
    with (tmp_path / "out.txt").open("w") as out:
        done = subprocess.run(
            wf_cmd("run", str(workflow), "-j", "4", "--plain"),
            env=env,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            timeout=1800,
            check=False,
        )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    (run,) = runs_json(env)
    assert run["status"] == "success"
    assert run["total_tasks"] == tasks
    assert run["tasks_success"] == tasks
    assert integrity(home / "wf.db") == "ok"
    record("large_dag", tasks=tasks, seconds=round(elapsed, 1), held=True)


def test_a_long_history_still_answers(tmp_path: Path) -> None:
    runs = 10_000
    home = tmp_path / "home"
    env = wf_env(home)
    newest = build_history(home / "wf.db", runs)
    listed = run_wf("runs", env=env)
    assert listed.returncode == 0, listed.stderr
    assert f"Total Runs: {runs}" in listed.stdout
    assert len(runs_json(env)) == runs
    health = run_wf("health", "--json", env=env)
    assert health.returncode == 0, health.stdout + health.stderr
    assert json.loads(health.stdout)["database_ok"] is True
    # IDs start with their creation time: thousands made within a second share 8 characters.
    shown = run_wf("inspect", newest[:16], env=env)
    assert shown.returncode == 0, shown.stderr
    assert newest in shown.stdout
    page = run_wf("runs", "--json", "-l", "5", "-o", str(runs - 5), "-S", "duration", env=env)
    assert len(json.loads(page.stdout)["runs"]) == 5
    assert integrity(home / "wf.db") == "ok"
    record("history", runs=runs, held=True)
