"""Start-up benchmark: `wf --help`, `wf run` of a one-task workflow, and `wf runs` / `wf health`
over a large stored history.

Usage: python bench/startup.py [--runs 10000] [--reps 15]

With ``WF_BENCH_BEFORE=DIR/src`` (a tree from ``git archive REV src | tar -x -C DIR``) every
command is also run with that tree on ``PYTHONPATH``, alternately with this one (the order
reversed every repetition), and the table gets a ``before`` column.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import BEFORE, precompile_wf


def seed_history(home: Path, count: int) -> None:
    """COUNT finished runs with three task rows each, written straight through the Store."""
    from wf.storage import Run, RunStatus, Store, TaskExecution, TaskStatus

    start = datetime(2026, 1, 1, tzinfo=UTC)
    statuses = [RunStatus.SUCCESS] * 8 + [RunStatus.FAILED, RunStatus.CANCELLED]
    with Store(home / "wf.db") as store, store.transaction():
        for i in range(count):
            begin = start + timedelta(minutes=i)
            run = Run(
                workflow_name=f"wf{i % 7}",
                workflow_file=f"/tmp/wf{i % 7}.toml",
                status=statuses[i % len(statuses)],
                start_time=begin,
                end_time=begin + timedelta(seconds=3),
                duration_ms=3000,
                total_tasks=3,
                tags=["nightly"] if i % 2 else [],
            )
            run_id = store.create_run(run)
            for t in range(3):
                store.create_task_execution(
                    TaskExecution(
                        run_id=run_id,
                        task_id=f"t{t}",
                        task_name=f"t{t}",
                        command="true",
                        state=TaskStatus.SUCCESS,
                        start_time=begin,
                        end_time=begin + timedelta(seconds=1),
                        duration_ms=1000,
                        exit_code=0,
                    )
                )


def timed(cmds: list[tuple[list[str], dict[str, str]]], reps: int) -> list[float]:
    """The median wall time of each command, the commands run alternately."""
    values: list[list[float]] = [[] for _ in cmds]
    for rep in range(reps):
        order = list(range(len(cmds)))
        for index in order if rep % 2 == 0 else order[::-1]:
            cmd, env = cmds[index]
            start = time.perf_counter()
            subprocess.run(
                cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
            )
            values[index].append(time.perf_counter() - start)
    return [statistics.median(v) for v in values]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args()
    precompile_wf()
    with tempfile.TemporaryDirectory(prefix="wfbench-startup-") as tmp:
        home = Path(tmp) / "history"
        home.mkdir()
        seed_history(home, args.runs)
        workflow = Path(tmp) / "one.toml"
        workflow.write_text('[tasks.a]\ncmd = "true"\n')
        env = dict(os.environ, WF_HOME=str(home), NO_COLOR="1")
        envs = [env]
        if BEFORE:
            envs.append(dict(env, PYTHONPATH=BEFORE))
        wf = [sys.executable, "-m", "wf"]
        commands: list[tuple[str, list[str], bool]] = [
            ("python -c pass", [sys.executable, "-c", "pass"], False),
            ("wf --help", [*wf, "--help"], True),
            (
                "wf run (1 task, `true`)",
                [*wf, "--home", str(Path(tmp) / "run-{}"), "run", str(workflow), "--plain"],
                True,
            ),
            (f"wf runs ({args.runs} runs)", [*wf, "runs"], True),
            (
                f"wf runs --json -l 0 ({args.runs} runs)",
                [*wf, "runs", "--json", "-l", "0"],
                True,
            ),
            (f"wf health ({args.runs} runs)", [*wf, "health"], True),
        ]
        rows = []
        for name, cmd, both in commands:
            trees = envs if both else envs[:1]
            # Each tree keeps its own home for `wf run` (the schema may differ between trees).
            runs = [([part.format(i) for part in cmd], e) for i, e in enumerate(trees)]
            rows.append((name, timed(runs, args.reps)))
    print("| command | median s |" + (" before s |" if BEFORE else ""))
    print("|---|---:|" + ("---:|" if BEFORE else ""))
    for name, values in rows:
        cells = " | ".join(f"{v:.3f}" for v in values)
        if BEFORE and len(values) == 1:
            cells += " | -"
        print(f"| {name} | {cells} |")


if __name__ == "__main__":
    main()
