"""Per-attempt overhead of the Dask runner beside the local runner and plain ``client.submit``.

Usage: python bench/dask_overhead.py [--tasks 200] [--reps 5] [--workers 2] [--threads 1]

Starts a local cluster (``dask scheduler`` and ``dask worker --nworkers W`` on 127.0.0.1),
then, alternating every repetition: wf's DaskExecutor runs the ``wide`` shape (TASKS
independent ``true``, one attempt per worker thread in flight); plain ``client.submit`` runs the
same commands (``subprocess.run(["/bin/sh", "-c", "true"])``) on the same cluster and gathers
them; wf's local work-stealing executor runs the shape on this machine with as many workers.
wf's times are the runs' recorded durations (run start to run end: the history, logs and events
included, the client connection and interpreter start-up not); the raw time is submit to last
result. Reports medians and per-attempt milliseconds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DASK = str(Path(sys.executable).parent / "dask")


def start_cluster(
    tmp: Path, workers: int, threads: int
) -> tuple[str, list[subprocess.Popen[bytes]]]:
    scheduler_file = tmp / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
    scheduler = subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(scheduler_file)],
        **quiet,  # type: ignore[arg-type]
    )  # fmt: skip
    while not scheduler_file.exists() or not scheduler_file.read_text().strip():
        time.sleep(0.05)
    address = json.loads(scheduler_file.read_text())["address"]
    worker = subprocess.Popen(
        [DASK, "worker", "--scheduler-file", str(scheduler_file), "--host", "127.0.0.1",
         "--nworkers", str(workers), "--nthreads", str(threads), "--no-dashboard",
         "--memory-limit", "0", "--local-directory", str(tmp / "w")],
        **quiet,  # type: ignore[arg-type]
    )  # fmt: skip
    from distributed import Client

    with Client(address, timeout=60, set_as_default=False) as client:
        client.wait_for_workers(workers, timeout=60)
    return address, [worker, scheduler]


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)


def wide(tmp: Path, tasks: int) -> Path:
    path = tmp / "wide.toml"
    path.write_text("".join(f'[tasks.t{i:04}]\ncmd = "true"\n' for i in range(tasks)))
    return path


def run_wf(executor_factory, flow: Path, home: Path) -> float:
    from wf.dag import load_dag
    from wf.storage import Store

    with Store(home / "wf.db") as store:
        run = executor_factory(store, home / "logs").execute(load_dag(flow))
        assert str(run.status) == "success", run.error
        return (run.duration_ms or 0) / 1000


def sh_true() -> int:
    return subprocess.run(["/bin/sh", "-c", "true"], check=False).returncode


def run_raw(address: str, tasks: int) -> float:
    from distributed import Client

    with Client(address, timeout=30, set_as_default=False) as client:
        start = time.perf_counter()
        futures = [client.submit(sh_true, pure=False) for _ in range(tasks)]
        results = client.gather(futures)
        elapsed = time.perf_counter() - start
    assert results == [0] * tasks
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--inflight", type=int, default=None, help="-j for wf dask")
    args = parser.parse_args()
    from wf.executor import WorkStealingExecutor
    from wf.executor.daskrunner import DaskExecutor

    with tempfile.TemporaryDirectory() as raw_tmp:
        tmp = Path(raw_tmp)
        address, procs = start_cluster(tmp, args.workers, args.threads)
        slots = args.workers * args.threads
        flow = wide(tmp, args.tasks)
        times: dict[str, list[float]] = {"wf dask": [], "client.submit": [], "wf local": []}
        try:
            run_raw(address, 20)  # warm the workers up (imports, first processes)
            for rep in range(args.reps):
                order = list(times)
                if rep % 2:
                    order.reverse()
                for name in order:
                    home = tmp / f"{name.replace(' ', '-')}-{rep}"
                    home.mkdir()
                    if name == "wf dask":
                        seconds = run_wf(
                            lambda s, logs: DaskExecutor(s, address, args.inflight, logs_dir=logs),
                            flow,
                            home,
                        )
                    elif name == "wf local":
                        seconds = run_wf(
                            lambda s, logs: WorkStealingExecutor(s, slots, logs_dir=logs),
                            flow,
                            home,
                        )
                    else:
                        seconds = run_raw(address, args.tasks)
                    times[name].append(seconds)
        finally:
            stop(procs)
    raw = statistics.median(times["client.submit"])
    print(f"wide: {args.tasks} x true, {args.workers} workers x {args.threads} thread(s), "
          f"{args.reps} repetitions (medians)")  # fmt: skip
    print("| runner | median s | per attempt ms | × client.submit |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.3f} | {median / args.tasks * 1000:.2f} | {median / raw:.2f} |")


if __name__ == "__main__":
    main()
