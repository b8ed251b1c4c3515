"""A real Dask cluster for the Dask executor tests: ``dask scheduler`` and ``dask worker
--nworkers 2`` started as subprocesses on 127.0.0.1 (random ports, ``--scheduler-file``),
waited for, and stopped by PID. Skipped without the ``wf[dask]`` extra."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="the Dask tests need the wf[dask] extra")

DASK = str(Path(sys.executable).parent / "dask")
START_LIMIT = 60.0  # seconds for the cluster to come up on a loaded machine


@dataclass
class Cluster:
    """A running scheduler and its workers."""

    address: str
    scheduler_file: Path
    scheduler: subprocess.Popen[bytes]
    workers: subprocess.Popen[bytes]
    logs: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def worker_pids(self) -> dict[str, int]:
        """Worker address -> PID of the worker process."""
        from distributed import Client

        with Client(self.address, timeout=10, set_as_default=False) as client:
            return {
                address: int(pid)
                for address, pid in client.run(os.getpid, on_error="ignore").items()
                if isinstance(pid, int)
            }

    def stop(self) -> None:
        for proc in (self.workers, self.scheduler):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in (self.workers, self.scheduler):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
            # The nanny's worker processes share the worker command's process group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            if proc.poll() is None:
                proc.wait(timeout=10)


def _start(tmp: Path, nworkers: int = 2, nthreads: int = 2) -> Cluster:
    tmp.mkdir(parents=True, exist_ok=True)
    scheduler_file = tmp / "scheduler.json"
    env = dict(os.environ)
    env["DASK_DISTRIBUTED__WORKER__DAEMON"] = "False"
    env.pop("WF_HOME", None)
    common = {"env": env, "start_new_session": True, "cwd": tmp}
    scheduler = subprocess.Popen(
        [
            DASK, "scheduler", "--host", "127.0.0.1", "--port", "0",
            "--scheduler-file", str(scheduler_file), "--no-dashboard",
        ],
        stdout=open(tmp / "scheduler.log", "wb"),  # noqa: SIM115 - closed with the process
        stderr=subprocess.STDOUT,
        **common,  # type: ignore[arg-type]
    )  # fmt: skip
    deadline = time.monotonic() + START_LIMIT
    while not scheduler_file.exists() or not scheduler_file.read_text().strip():
        if scheduler.poll() is not None or time.monotonic() > deadline:
            log = (tmp / "scheduler.log").read_text()
            raise RuntimeError(f"dask scheduler did not start: {log}")
        time.sleep(0.05)
    address = json.loads(scheduler_file.read_text())["address"]
    workers = subprocess.Popen(
        [
            DASK, "worker", "--scheduler-file", str(scheduler_file), "--host", "127.0.0.1",
            "--nworkers", str(nworkers), "--nthreads", str(nthreads), "--no-dashboard",
            "--memory-limit", "0", "--local-directory", str(tmp / "workers"),
        ],
        stdout=open(tmp / "workers.log", "wb"),  # noqa: SIM115 - closed with the process
        stderr=subprocess.STDOUT,
        **common,  # type: ignore[arg-type]
    )  # fmt: skip
    cluster = Cluster(address, scheduler_file, scheduler, workers, tmp)
    try:
        from distributed import Client

        with Client(address, timeout=START_LIMIT, set_as_default=False) as client:
            client.wait_for_workers(nworkers, timeout=START_LIMIT)
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A cluster shared by the tests of one module (tests that break it use ``own_cluster``)."""
    running = _start(tmp_path_factory.mktemp("dask"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A cluster of this test alone (it kills a worker or the scheduler)."""
    running = _start(tmp_path / "cluster")
    try:
        yield running
    finally:
        running.stop()
