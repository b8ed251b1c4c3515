"""Where a wf run spends its time: one shape run in-process, its hot-path steps timed.

Usage: python bench/phases.py [--shape wide|seq|chain|layered] [--tasks N]

Runs ``wf run`` twice in this interpreter (imports excluded; the second run, with the history
the first one left, is reported) with timers around the engine's
system-level steps — spawning (``os.posix_spawn``, wall and CPU: the difference is the time the
parent is suspended until the child has exec'd), creating the node's log directory and the
log file, reading the WF_OUTPUT file, waiting in the reactor, committing the store — and reports
what is left as Python bookkeeping.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shapes as shp

STEPS: dict[str, list[float]] = {}


def _timed(owner: Any, name: str, label: str) -> None:
    original: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            step = STEPS.setdefault(label, [0.0, 0.0, 0])
            step[0] += time.perf_counter() - wall
            step[1] += time.thread_time() - cpu
            step[2] += 1

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="wide", choices=["wide", "seq", "chain", "layered"])
    parser.add_argument("--tasks", type=int, default=0, help="override the shape's size")
    args = parser.parse_args()
    make = {"wide": shp.wide, "seq": shp.seq, "chain": shp.chain, "layered": shp.layered}
    shape = make[args.shape](args.tasks) if args.tasks else make[args.shape]()

    import wf.cli.commands.run  # noqa: F401  (imports stay out of the timed run)
    import wf.executor.attempts as attempts
    import wf.executor.local as local
    import wf.executor.procgroup as procgroup
    import wf.executor.reactor as reactor
    import wf.executor.writer as writer
    from wf.cli import main as wf_main

    _timed(procgroup.os, "posix_spawn", "spawn (posix_spawn)")
    _timed(attempts, "attempt_dir", "log directory (mkdir)")
    _timed(local, "read_output_file", "WF_OUTPUT file (read)")
    _timed(reactor, "LogSink", "log file (open)")
    _timed(reactor.Reactor, "wait", "reactor wait (poll, reap, read)")
    _timed(writer.StoreWriter, "flush", "store commits")

    with tempfile.TemporaryDirectory(prefix="wfphases-") as tmp:
        workflow = Path(tmp) / "wf.toml"
        shp.write_wf(shape, workflow)
        mode = ["--sequential"] if shape.workers == 1 else ["-j", str(shape.workers)]
        argv = ["--home", str(Path(tmp) / "home"), "run", str(workflow), "--plain", *mode]
        devnull = os.open(os.devnull, os.O_WRONLY)
        saved = os.dup(1)
        os.dup2(devnull, 1)
        try:
            wf_main(argv)  # a first run gives the workflow the history a user's runs would have
            STEPS.clear()
            wall, cpu = time.perf_counter(), time.process_time()
            code = wf_main(argv)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        finally:
            os.dup2(saved, 1)
        shutil.rmtree(Path(tmp) / "home", ignore_errors=True)
    tasks = len(shape.commands)
    print(f"{args.shape}: {tasks} tasks, exit {code}, {wall:.3f} s wall, {cpu:.3f} s CPU (wf only)")
    print("| step | calls | wall ms/task | CPU ms/task |")
    print("|---|---:|---:|---:|")
    accounted = 0.0
    for label, (w, c, n) in STEPS.items():
        accounted += c
        print(f"| {label} | {n} | {w / tasks * 1000:.3f} | {c / tasks * 1000:.3f} |")
    rest = max(0.0, cpu - accounted)
    print(f"| everything else: Python bookkeeping, events | - | - | {rest / tasks * 1000:.3f} |")


if __name__ == "__main__":
    main()
