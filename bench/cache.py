"""Incremental runs (docs/caching.md): the up-to-date check of 1,000 tasks over 10,000 files.

It generates, in a tmp directory, 1,000 task directories of 10 input files each (1 GB in all
by default), a wf workflow whose task i reads ``data/i/*.bin`` and writes ``out/i.txt``, and
the equivalent Makefile. Then it measures, in one run:

* the first run's hashing cost: wf's hasher over every input, in MB/s, beside ``sha256sum``
  over the same files;
* the up-to-date check of every task, in process: wf's decisions (globs, a stat per file,
  the recorded identities, the cache key) beside a ``make -q``-style timestamp check (globs,
  a stat per file, newest input against oldest output), alternated, medians;
* ``make -q`` itself (the real tool, its own start-up included);
* the whole second (and third) ``wf run``, start-up included, with everything up to date.

    .venv/bin/python bench/cache.py                 # 1,000 tasks x 10 files of 100 KiB
    .venv/bin/python bench/cache.py --file-kib 1    # the same tree with small files
"""

from __future__ import annotations

import argparse
import compileall
import glob
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from wf.cache import FileHasher  # noqa: E402
from wf.cache.hashing import RACY_NS  # noqa: E402
from wf.contextmap import ContextMap  # noqa: E402
from wf.dag import load_dag  # noqa: E402
from wf.executor.cache import RunCache  # noqa: E402
from wf.storage import Store  # noqa: E402


def generate(base: Path, tasks: int, files: int, kib: int) -> None:
    block = os.urandom(kib * 1024)
    for i in range(tasks):
        directory = base / "data" / f"{i:04d}"
        directory.mkdir(parents=True)
        for j in range(files):
            # Distinct content per file: the first bytes name it.
            (directory / f"f{j:02d}.bin").write_bytes(f"{i}-{j}".encode() + block)
    (base / "out").mkdir()
    lines = ['name = "cachebench"', ""]
    make = [".PHONY: all", "all: " + " ".join(f"out/{i:04d}.txt" for i in range(tasks)), ""]
    for i in range(tasks):
        lines += [
            f"[tasks.t{i:04d}]",
            f'cmd = "echo {i} > out/{i:04d}.txt"',
            f'inputs = ["data/{i:04d}/*.bin"]',
            f'outputs = ["out/{i:04d}.txt"]',
            "",
        ]
        make += [f"out/{i:04d}.txt: $(wildcard data/{i:04d}/*.bin)", f"\techo {i} > $@", ""]
    (base / "cachebench.toml").write_text("\n".join(lines))
    (base / "Makefile").write_text("\n".join(make))


def wf_run(base: Path, home: Path) -> tuple[float, str]:
    """The wall time of one whole ``wf run``, and its result line with the CPU time it used
    (user + system: on a shared machine, waiting for a core inflates the wall time only)."""
    env = dict(os.environ, WF_HOME=str(home), NO_COLOR="1")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "wf", "run", "cachebench.toml", "--plain", "-j", "2"],
        cwd=base,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"wf run failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    tasks_line = next(line for line in proc.stdout.splitlines() if line.startswith("Tasks:"))
    return elapsed, f"(CPU {cpu:.2f} s)  {tasks_line}"


def wf_check(base: Path, home: Path) -> tuple[float, float]:
    """Decide every node in process, as a run does before its attempts (no engine, no DB
    writes); fails unless every node is up to date. (Wall, CPU) seconds."""
    dag = load_dag(base / "cachebench.toml")  # parsing is not part of the check
    with Store(home / "wf.db") as store:
        start, cpu = time.perf_counter(), time.process_time()
        cache = RunCache(store, dag.name)
        ctx = ContextMap()
        for node_id in dag.sequential_order():
            task = dag.nodes[node_id].task
            decision = cache.decide(
                node_id,
                task,
                cmd=task.cmd,
                env={},
                working_dir="",
                cwd=str(base),
                clean_env=False,
                ctx=ctx,
                dependency_ran=None,
            )
            if decision.run:
                raise SystemExit(f"{node_id} is not up to date: {decision.reason}")
        return time.perf_counter() - start, time.process_time() - cpu


def make_style_check(base: Path, tasks: int) -> tuple[float, float]:
    """What ``make -q`` does, in Python: glob the prerequisites, stat them and the target,
    and compare modification times. (Wall, CPU) seconds."""
    start, cpu = time.perf_counter(), time.process_time()
    stale = 0
    for i in range(tasks):
        inputs = glob.glob(f"data/{i:04d}/*.bin", root_dir=base)
        newest = max(os.stat(os.path.join(base, p)).st_mtime_ns for p in inputs)
        try:
            target = os.stat(os.path.join(base, f"out/{i:04d}.txt")).st_mtime_ns
        except FileNotFoundError:
            stale += 1
            continue
        if newest > target:
            stale += 1
    elapsed = time.perf_counter() - start, time.process_time() - cpu
    if stale:
        raise SystemExit(f"make-style check found {stale} stale targets")
    return elapsed


def make_q(base: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(["make", "-q", "-C", str(base)], capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"make -q says the tree is not up to date ({proc.returncode})")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--files", type=int, default=10, help="input files per task")
    parser.add_argument("--file-kib", type=int, default=100)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the generated tree")
    args = parser.parse_args()
    compileall.compile_dir(str(ROOT / "src" / "wf"), quiet=1)
    base = Path(tempfile.mkdtemp(prefix="wf-cachebench-"))
    home = base / ".wfhome"
    try:
        total_files = args.tasks * args.files
        print(
            f"generating {args.tasks} tasks x {args.files} files of {args.file_kib} KiB in {base}"
        )
        generate(base, args.tasks, args.files, args.file_kib)
        total_mb = sum(p.stat().st_size for p in (base / "data").rglob("*.bin")) / 1e6
        # Files younger than the racy window are read again on every run (by design); let the
        # generated tree age past it, as a checked-out source tree has.
        time.sleep(RACY_NS / 1e9 + 0.5)

        paths = sorted(str(p) for p in (base / "data").rglob("*.bin"))
        hasher = FileHasher()
        start = time.perf_counter()
        for path in paths:
            hasher.info(path)
        wf_hash = time.perf_counter() - start
        start = time.perf_counter()
        subprocess.run(
            f"find {base}/data -name '*.bin' -print0 | xargs -0 sha256sum > /dev/null",
            shell=True,
            check=True,
        )
        sha = time.perf_counter() - start

        first, first_line = wf_run(base, home)
        time.sleep(RACY_NS / 1e9 + 0.5)  # the outputs age too (see above)
        second, second_line = wf_run(base, home)
        third, third_line = wf_run(base, home)

        wf_times: list[tuple[float, float]] = []
        make_times: list[tuple[float, float]] = []
        for rep in range(args.reps):
            pair = [
                ("wf", lambda: wf_check(base, home)),
                ("make", lambda: make_style_check(base, args.tasks)),
            ]
            for name, fn in pair if rep % 2 == 0 else reversed(pair):
                (wf_times if name == "wf" else make_times).append(fn())
        real_make = statistics.median(make_q(base) for _ in range(args.reps))

        wf_check_s = statistics.median(t[0] for t in wf_times)
        make_check_s = statistics.median(t[0] for t in make_times)
        wf_cpu_s = statistics.median(t[1] for t in wf_times)
        make_cpu_s = statistics.median(t[1] for t in make_times)
        print()
        print(f"tree: {args.tasks} tasks, {total_files} input files, {total_mb:,.0f} MB")
        print(
            f"first-run hashing: wf {total_mb / wf_hash:,.0f} MB/s ({wf_hash:.2f} s), "
            f"sha256sum {total_mb / sha:,.0f} MB/s ({sha:.2f} s), ratio {wf_hash / sha:.2f}x"
        )
        print(f"wf run #1 (everything runs):    {first:.2f} s   {first_line}")
        print(f"wf run #2 (everything cached):  {second:.2f} s   {second_line}")
        print(f"wf run #3 (everything cached):  {third:.2f} s   {third_line}")
        print(
            f"up-to-date check, in process (median of {args.reps}): "
            f"wf {wf_check_s * 1000:.0f} ms, make-style timestamps {make_check_s * 1000:.0f} ms, "
            f"ratio {wf_check_s / make_check_s:.2f}x; CPU time wf {wf_cpu_s * 1000:.0f} ms, "
            f"make-style {make_cpu_s * 1000:.0f} ms, ratio {wf_cpu_s / make_cpu_s:.2f}x"
        )
        print(
            f"make -q (real make, start-up included, median): {real_make * 1000:.0f} ms; "
            f"wf check / make -q = {wf_check_s / real_make:.2f}x"
        )
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
