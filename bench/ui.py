"""The web UI's speed: pages over 10,000 stored runs, and the database load of live updates.

Usage: python bench/ui.py [--runs 10000] [--reps 20] [--pages 20] [--seconds 5]

1. ``/`` and ``/api/runs`` (and a few other pages) through Starlette's in-process client: the
   median of REPS requests each, beside ``wf runs --json -l 50`` in-process over the same
   database as the reference (the same query through the command line).
2. A real server (uvicorn on 127.0.0.1) with PAGES open event streams: statements sent to the
   database per second while idle and while a writer changes a run 10 times per second, and
   how long until every page has received a change.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from startup import seed_history


def median_ms(fn, reps: int) -> tuple[float, float]:
    fn()  # warm up (imports, caches)
    values = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        values.append((time.perf_counter() - start) * 1000)
    return statistics.median(values), max(values)


def page_times(home: Path, reps: int) -> None:
    from starlette.testclient import TestClient

    from wf.cli import main as wf_main
    from wf.config import load_config
    from wf.storage import Store
    from wf.web.app import create_app

    with Store(home / "wf.db") as store:
        run_id = store.list_runs(limit=1)[0].id
    client = TestClient(create_app(load_config()), base_url="http://127.0.0.1:8765")

    def get(path: str):
        def call() -> None:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)

        return call

    def cli() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            assert wf_main(["runs", "--json", "-l", "50"]) == 0

    ref, _ = median_ms(cli, reps)
    print(f"{'request':<44} {'median':>9} {'max':>9} {'÷ wf runs --json':>17}")
    print(f"{'wf runs --json -l 50 (in-process, reference)':<44} {ref:>7.1f}ms {'':>9} {1:>16.2f}×")
    for path in (
        "/",
        "/api/runs",
        "/?status=failed&workflow=wf3",
        "/api/runs?tag=nightly&offset=5000",
        "/?sort=duration",
        f"/runs/{run_id}",
        f"/api/runs/{run_id}",
    ):
        med, worst = median_ms(get(path), reps)
        print(f"{path[:44]:<44} {med:>7.1f}ms {worst:>7.1f}ms {med / ref:>16.2f}×")


def live_load(home: Path, pages: int, seconds: float) -> None:
    import httpx
    import uvicorn

    from wf.config import load_config
    from wf.storage import RunStatus, Store
    from wf.web.app import create_app

    app = create_app(load_config())
    watcher = app.state.ui.watcher
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    url = f"http://127.0.0.1:{port}/api/events"
    seen: list[threading.Event] = []
    received = [0] * pages
    stop = threading.Event()

    def reader(index: int, opened: threading.Event, event: threading.Event) -> None:
        with httpx.stream("GET", url, timeout=None) as stream:
            opened.set()
            for line in stream.iter_lines():
                if line.startswith("event: run"):
                    received[index] += 1
                    event.set()
                if stop.is_set():
                    return

    opened = []
    for i in range(pages):
        o, e = threading.Event(), threading.Event()
        opened.append(o)
        seen.append(e)
        threading.Thread(target=reader, args=(i, o, e), daemon=True).start()
    for o in opened:
        o.wait(10)
    time.sleep(1)  # baseline taken

    q0, p0, t0 = watcher.queries, watcher.polls, time.perf_counter()
    time.sleep(seconds)
    idle_q = (watcher.queries - q0) / (time.perf_counter() - t0)
    idle_p = (watcher.polls - p0) / (time.perf_counter() - t0)

    with Store(home / "wf.db") as writer:
        run = writer.list_runs(limit=1)[0]
        for e in seen:
            e.clear()
        start = time.perf_counter()
        run.status = RunStatus.RUNNING
        writer.update_run(run)
        for e in seen:
            e.wait(10)
        latency = (time.perf_counter() - start) * 1000

        q0, p0, t0 = watcher.queries, watcher.polls, time.perf_counter()
        end = t0 + seconds
        changes = 0
        while time.perf_counter() < end:
            run.status = RunStatus.SUCCESS if changes % 2 else RunStatus.RUNNING
            writer.update_run(run)
            changes += 1
            time.sleep(0.1)
        busy_q = (watcher.queries - q0) / (time.perf_counter() - t0)
        busy_p = (watcher.polls - p0) / (time.perf_counter() - t0)
        time.sleep(0.6)
    print(f"\nlive updates, {pages} open event streams, one shared poller:")
    print(f"  idle:   {idle_p:.1f} polls/s, {idle_q:.1f} database statements/s in total")
    print(
        f"  busy:   {busy_p:.1f} polls/s, {busy_q:.1f} database statements/s in total "
        f"({changes / seconds:.0f} run changes/s written)"
    )
    print(f"  a change reached all {pages} pages after {latency:.0f} ms")
    print(f"  events received per page: min {min(received)}, max {max(received)}")
    stop.set()
    server.should_exit = True
    thread.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="wf-bench-ui-")) / "home"
    os.environ["WF_HOME"] = str(home)
    (home / "workflows").mkdir(parents=True)
    seed_history(home, args.runs)
    print(f"{args.runs} stored runs, {args.reps} requests each, medians\n")
    page_times(home, args.reps)
    live_load(home, args.pages, args.seconds)
    asyncio.set_event_loop(None)


if __name__ == "__main__":
    main()
