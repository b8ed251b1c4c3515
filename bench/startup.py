"""Start-up benchmark: `wf --help`, and `wf runs` / `wf health` over a large stored history.

Usage: python bench/startup.py [--runs 10000] [--reps 7]
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
from run import precompile_wf


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


def timed(cmd: list[str], env: dict[str, str], reps: int) -> float:
    values = []
    for _ in range(reps):
        start = time.perf_counter()
        subprocess.run(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )
        values.append(time.perf_counter() - start)
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    precompile_wf()
    with tempfile.TemporaryDirectory(prefix="wfbench-startup-") as tmp:
        home = Path(tmp)
        seed_history(home, args.runs)
        env = dict(os.environ, WF_HOME=str(home), NO_COLOR="1")
        wf = [sys.executable, "-m", "wf"]
        rows = [
            ("python -c pass", timed([sys.executable, "-c", "pass"], env, args.reps)),
            ("wf --help", timed([*wf, "--help"], env, args.reps)),
            (f"wf runs ({args.runs} runs)", timed([*wf, "runs"], env, args.reps)),
            (
                f"wf runs --json -l 0 ({args.runs} runs)",
                timed([*wf, "runs", "--json", "-l", "0"], env, args.reps),
            ),
            (f"wf health ({args.runs} runs)", timed([*wf, "health"], env, args.reps)),
        ]
    print("| command | median s |")
    print("|---|---:|")
    for name, value in rows:
        print(f"| {name} | {value:.3f} |")


if __name__ == "__main__":
    main()
