"""The Dask executor against a real cluster: the same behaviours as locally (docs/dask.md)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from wf.dag import DAG, load_dag
from wf.executor import ProgressEvent
from wf.executor.daskrunner import DaskExecutor
from wf.storage import RunStatus, Store, TaskStatus


def alive(pid: int) -> bool:
    """PID exists, is not a zombie, and runs with a wf task's environment."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
        with open(f"/proc/{pid}/environ", "rb") as fh:
            return b"\0WF_RUN_ID=" in b"\0" + fh.read()
    except (OSError, IndexError):
        return False


def wait_for(predicate, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(0.02)


def read_pid(path: Path) -> int:
    wait_for(lambda: path.exists() and path.read_text().strip(), what=f"{path.name} written")
    return int(path.read_text().split()[0])


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "db" / "wf.db") as s:
        yield s


@pytest.fixture
def write_dag(tmp_path: Path):
    def write(text: str, name: str = "flow") -> DAG:
        path = tmp_path / f"{name}.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return load_dag(path)

    return write


def dask_executor(store: Store, address: str, tmp_path: Path, **kwargs) -> DaskExecutor:
    kwargs.setdefault("logs_dir", tmp_path / "logs")
    kwargs.setdefault("kill_grace", 0.5)
    return DaskExecutor(store, address, kwargs.pop("num_workers", None), **kwargs)


def rows(store: Store, run_id: str, task_id: str | None = None):
    return store.list_task_executions(run_id=run_id, task_id=task_id)


def test_dependents_start_after_their_dependencies_and_rows_name_the_worker(
    cluster, store, write_dag, tmp_path
):
    dag = write_dag("""
        [tasks.a]
        cmd = "sleep 0.2; echo a"
        [tasks.b]
        cmd = "echo b"
        depends_on = ["a"]
        [tasks.c]
        cmd = "sleep 0.1"
        depends_on = ["a"]
        [tasks.d]
        cmd = "echo d"
        depends_on = ["b", "c"]
    """)
    executor = dask_executor(store, cluster.address, tmp_path)
    events: list[ProgressEvent] = []
    run = executor.execute(dag, progress=events.append)
    assert run.status is RunStatus.SUCCESS
    assert run.execution_mode == "work_stealing"
    assert run.max_parallel == 8  # 2 workers x 2 threads, two attempts in flight per thread
    by_id = {r.task_id: r for r in rows(store, run.id)}
    for dep, child in (("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")):
        assert by_id[dep].end_time <= by_id[child].start_time
    workers = set(cluster.worker_pids())
    for row in by_id.values():
        assert row.hostname in workers
        assert row.pid is not None
    assert (tmp_path / "logs" / run.id / "d" / "attempt_1.log").read_text() == "d\n"
    # 'c' printed nothing: its log path is recorded, no file is created (docs/executors.md)
    assert by_id["c"].log_path == str(tmp_path / "logs" / run.id / "c" / "attempt_1.log")
    assert not Path(by_id["c"].log_path).exists()
    (started,) = [e for e in store.list_audit_trail(run_id=run.id) if e.event_type == "run_started"]
    assert '"executor":"dask"' in started.event_data
    assert f'"scheduler":"{cluster.address}"' in started.event_data
    assert next(e.kind for e in events) == "run_started"


def test_register_and_a_worker_side_wf_output_flow_to_dependents(
    cluster, store, write_dag, tmp_path
):
    dag = write_dag("""
        [tasks.produce]
        cmd = '''echo "where=$WF_OUTPUT" >> "$WF_OUTPUT"
        echo version=2.1 >> "$WF_OUTPUT"; echo built'''
        register = "artifact"
        [tasks.consume]
        cmd = "echo {{.artifact}}-{{.version}}"
        depends_on = ["produce"]
    """)
    run = dask_executor(store, cluster.address, tmp_path).execute(dag)
    assert run.status is RunStatus.SUCCESS
    assert rows(store, run.id, "consume")[-1].command == "echo built-2.1"
    variables = {v.variable_name: v.variable_value for v in store.latest_variables(run.id)}
    # The worker wrote a WF_OUTPUT file of its own, not the local attempt path.
    assert not variables["where"].startswith(str(tmp_path / "logs"))


def test_failed_attempts_are_retried_on_the_cluster(cluster, store, write_dag, tmp_path):
    dag = write_dag("""
        [tasks.flaky]
        cmd = 'echo attempt $WF_ATTEMPT; test "$WF_ATTEMPT" -ge 3 || exit 4'
        retries = 3
    """)
    run = dask_executor(store, cluster.address, tmp_path).execute(dag)
    assert run.status is RunStatus.SUCCESS
    attempts = rows(store, run.id, "flaky")
    assert [r.state for r in attempts] == [TaskStatus.FAILED, TaskStatus.FAILED, TaskStatus.SUCCESS]
    assert attempts[0].error_message == "exit status 4"
    assert attempts[0].stack_trace == "attempt 1"


def test_a_timeout_on_the_worker_kills_the_remote_process_tree(cluster, store, write_dag, tmp_path):
    child = tmp_path / "child.pid"
    dag = write_dag(f"""
        [tasks.slow]
        cmd = "sleep 60 & echo $! > {child}; sleep 60"
        timeout = "1s"
        kill_grace = "200ms"
    """)
    run = dask_executor(store, cluster.address, tmp_path).execute(dag)
    assert run.status is RunStatus.FAILED
    (row,) = rows(store, run.id, "slow")
    assert row.error_message == "timed out after 1s"
    assert row.exit_code == -1
    pid = read_pid(child)
    wait_for(lambda: not alive(pid), what="the remote background child killed")
    assert not alive(row.pid)


def test_output_streams_into_the_local_log_while_the_attempt_runs(
    cluster, store, write_dag, tmp_path
):
    gate = tmp_path / "gate"
    dag = write_dag(f"""
        [tasks.talk]
        cmd = "echo first; while [ ! -e {gate} ]; do sleep 0.05; done; echo second"
        timeout = "30s"
    """)
    executor = dask_executor(store, cluster.address, tmp_path)
    seen: list[str] = []

    def watch() -> None:
        logs = tmp_path / "logs"
        wait_for(
            lambda: any(p.read_text() == "first\n" for p in logs.glob("*/talk/attempt_1.log")),
            what="the first line in the local log",
        )
        seen.append("first line arrived while the task ran")
        gate.touch()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    run = executor.execute(dag)
    watcher.join(5)
    assert seen
    assert run.status is RunStatus.SUCCESS
    assert (tmp_path / "logs" / run.id / "talk" / "attempt_1.log").read_text() == "first\nsecond\n"


def test_the_log_cap_applies_and_register_still_sees_the_last_line(
    cluster, store, write_dag, tmp_path
):
    dag = write_dag("""
        [tasks.noisy]
        cmd = "i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done; echo final"
        register = "last"
    """)
    run = dask_executor(store, cluster.address, tmp_path, log_max_bytes=1000).execute(dag)
    assert run.status is RunStatus.SUCCESS
    (row,) = rows(store, run.id, "noisy")
    log = (tmp_path / "logs" / run.id / "noisy" / "attempt_1.log").read_bytes()
    assert log.endswith(
        b"[wf] log limit of 1000 bytes reached; further output of this attempt is discarded\n"
    )
    total = sum(len(f"line-{i}\n") for i in range(2000)) + len("final\n")
    assert row.output_truncated == total - 1000
    variables = {v.variable_name: v.variable_value for v in store.latest_variables(run.id)}
    assert variables["last"] == "final"


def test_a_log_planted_before_the_first_byte_costs_only_the_output(
    cluster, store, write_dag, tmp_path, caplog
):
    # The log is created here when the first chunk arrives from the worker; a FIFO the task
    # put there first is refused then (never blocking), the output discarded with a warning.
    logs = tmp_path / "logs"
    dag = write_dag(f"""
        [tasks.t]
        cmd = 'mkfifo "{logs}/$WF_RUN_ID/t/attempt_$WF_ATTEMPT.log"; echo lost'
    """)
    with caplog.at_level("WARNING", logger="wf.executor"):
        run = dask_executor(store, cluster.address, tmp_path).execute(dag)
    assert run.status is RunStatus.SUCCESS
    (row,) = rows(store, run.id, "t")
    assert row.output_truncated == len(b"lost\n")
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        f"cannot write log {row.log_path}: not a regular file; 5 byte(s) of output discarded"
    ]


def test_a_hundred_task_fan_out(cluster, store, write_dag, tmp_path):
    tasks = "\n".join(f'[tasks.t{i:03}]\ncmd = "echo {i}"\n' for i in range(100))
    dag = write_dag(
        tasks
        + '[tasks.join]\ncmd = "true"\ndepends_on = ['
        + ", ".join(f'"t{i:03}"' for i in range(100))
        + "]\n"
    )
    run = dask_executor(store, cluster.address, tmp_path).execute(dag)
    assert run.status is RunStatus.SUCCESS
    assert run.tasks_success == 101
    hosts = {r.hostname for r in rows(store, run.id)}
    assert len(hosts) == 2  # both workers took part


def test_resume_with_dask_reuses_successes(cluster, store, write_dag, tmp_path):
    marker = tmp_path / "fixed"
    dag = write_dag(f"""
        [tasks.first]
        cmd = "echo one"
        [tasks.second]
        cmd = "test -e {marker}"
        depends_on = ["first"]
    """)
    run = dask_executor(store, cluster.address, tmp_path).execute(dag)
    assert run.status is RunStatus.FAILED
    marker.touch()
    resumed = dask_executor(store, cluster.address, tmp_path).resume(run.id)
    assert resumed.status is RunStatus.SUCCESS
    assert len(rows(store, run.id, "first")) == 1  # reused, not run again
    assert [r.state for r in rows(store, run.id, "second")] == [
        TaskStatus.FAILED,
        TaskStatus.SUCCESS,
    ]


def test_fail_fast_cancels_remote_attempts_and_kills_their_processes(
    cluster, store, write_dag, tmp_path
):
    child = tmp_path / "child.pid"
    dag = write_dag(f"""
        [tasks.bad]
        cmd = "while [ ! -s {child} ]; do sleep 0.05; done; exit 1"
        [tasks.slow]
        cmd = "sleep 60 & echo $! > {child}; sleep 60"
    """)
    run = dask_executor(store, cluster.address, tmp_path).execute(dag)
    assert run.status is RunStatus.FAILED
    assert run.failed_task == "bad"
    (slow,) = rows(store, run.id, "slow")
    assert slow.state is TaskStatus.CANCELLED
    assert slow.error_message == "cancelled: task bad failed"
    pid = read_pid(child)
    wait_for(lambda: not alive(pid), what="the cancelled attempt's child killed")


# -- the command line -------------------------------------------------------------------------
def wf_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WF_")}
    env.update({"WF_HOME": str(home), "NO_COLOR": "1", **extra})
    return env


def test_ctrl_c_cancels_the_run_and_kills_the_remote_processes(cluster, tmp_path):
    child = tmp_path / "child.pid"
    flow = tmp_path / "flow.toml"
    flow.write_text(f'[tasks.long]\ncmd = "sleep 60 & echo $! > {child}; sleep 60"\n')
    env = wf_env(tmp_path / "home")
    proc = subprocess.Popen(
        [sys.executable, "-m", "wf", "run", str(flow), "--plain", "--executor", "dask",
         "--scheduler", cluster.address],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        pid = read_pid(child)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    assert "cancelled: received SIGINT" in err
    wait_for(lambda: not alive(pid), what="the remote child killed")
    listed = subprocess.run(
        [sys.executable, "-m", "wf", "runs", "--json"], env=env, capture_output=True, text=True
    )
    assert '"status": "cancelled"' in listed.stdout


def test_an_unreachable_scheduler_is_an_error_before_any_run_exists(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    flow = tmp_path / "flow.toml"
    flow.write_text('[tasks.a]\ncmd = "true"\n')
    env = wf_env(tmp_path / "home")
    address = f"tcp://127.0.0.1:{port}"
    result = subprocess.run(
        [sys.executable, "-m", "wf", "run", str(flow), "--executor", "dask",
         "--scheduler", address],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"Error: cannot reach the Dask scheduler at {address}: ")
    assert "Traceback" not in result.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "wf", "runs"], env=env, capture_output=True, text=True
    )
    assert "No runs found" in listed.stdout


def test_config_selects_dask_and_its_scheduler(wf, cluster, tmp_path, monkeypatch):
    flow = tmp_path / "flow.toml"
    flow.write_text('[tasks.a]\ncmd = "echo via config"\n')
    monkeypatch.setenv("WF_EXECUTOR", "dask")
    monkeypatch.setenv("WF_DASK_SCHEDULER", cluster.address)
    code, out, err = wf("run", str(flow), "--plain", "--json")
    assert code == 0, err
    assert '"hostname": "tcp://127.0.0.1:' in out


# -- faults -----------------------------------------------------------------------------------
def test_a_worker_killed_mid_attempt_fails_it_as_lost_and_the_retry_runs_elsewhere(
    own_cluster, store, write_dag, tmp_path
):
    parent = tmp_path / "worker.pid"
    child = tmp_path / "child.pid"
    dag = write_dag(f"""
        [tasks.victim]
        cmd = '''test "$WF_ATTEMPT" -ge 2 && echo second && exit 0
        sleep 60 & echo $! > {child}; echo $PPID > {parent}; sleep 60'''
        retries = 1
    """)
    executor = dask_executor(store, own_cluster.address, tmp_path)

    def reported_running() -> bool:
        # The attempt's start is on record (its worker has registered the process group with
        # its orphan guard before reporting it): only then is the worker killed.
        with sqlite3.connect(tmp_path / "db" / "wf.db", timeout=10) as db:
            found = db.execute(
                "SELECT 1 FROM task_executions WHERE state = 'running' AND hostname IS NOT NULL"
            ).fetchone()
        return found is not None

    def kill_worker() -> None:
        pid = read_pid(parent)
        wait_for(reported_running, what="the attempt reported running")
        os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_worker, daemon=True)
    killer.start()
    run = executor.execute(dag)
    killer.join(5)
    assert run.status is RunStatus.SUCCESS
    first, second = rows(store, run.id, "victim")
    assert first.state is TaskStatus.FAILED
    assert first.error_message == f"worker lost: {first.hostname}"
    assert second.state is TaskStatus.SUCCESS
    # The dead worker's orphan guard took its attempt's processes with it.
    wait_for(lambda: not alive(read_pid(child)), what="the lost attempt's child killed")


def test_a_worker_dying_before_it_reports_the_start_still_loses_the_attempt(
    own_cluster, store, write_dag, tmp_path
):
    # The command kills its own worker at once, before the start event (sent once an attempt
    # has run a few milliseconds) can leave it: wf learns of the attempt only from the worker's
    # removal, and Dask's own re-run of it on another worker must not run the command again.
    runs = tmp_path / "runs"
    child = tmp_path / "child.pid"
    dag = write_dag(f"""
        [tasks.victim]
        cmd = '''echo "$WF_ATTEMPT" >> {runs}; test "$WF_ATTEMPT" -ge 2 && exit 0
        sleep 60 & echo $! > {child}; kill -9 $PPID; sleep 60'''
        retries = 1
    """)
    run = dask_executor(store, own_cluster.address, tmp_path).execute(dag)
    assert run.status is RunStatus.SUCCESS
    first, second = rows(store, run.id, "victim")
    assert first.state is TaskStatus.FAILED
    assert first.hostname is not None
    assert first.error_message == f"worker lost: {first.hostname}"
    assert second.state is TaskStatus.SUCCESS
    assert second.hostname not in (None, first.hostname)
    # Attempt 1's command ran once: Dask's re-run of it returned without starting it.
    assert runs.read_text().split() == ["1", "2"]
    wait_for(lambda: not alive(read_pid(child)), what="the lost attempt's child killed")


def test_dask_running_an_attempt_a_second_time_does_not_start_its_command(cluster, tmp_path):
    from distributed import Client

    from wf.executor.daskworker import run_remote

    marker = tmp_path / "ran"
    topic, key = "wf-attempts-claim-test", "wf-attempt-claim-test"
    env = {"PATH": os.environ["PATH"], "WF_RUN_ID": "r", "WF_TASK_ID": "t", "WF_ATTEMPT": "1"}
    spec = {"command": f"echo ran >> {marker}", "env": env, "cwd": None, "timeout": None}
    payload = json.dumps({**spec, "kill_grace": 0.5, "log_max_bytes": 1 << 20}).encode()
    ends: list[dict] = []

    def on_event(event) -> None:
        if event[1].get("kind") == "end":
            ends.append(event[1])

    with Client(cluster.address, timeout=30, set_as_default=False) as client:
        client.subscribe_topic(topic, on_event)

        def known() -> bool:
            return client.run_on_scheduler(lambda dask_scheduler: key in dask_scheduler.tasks)

        # Twice under the same key, as Dask does when the first worker leaves mid-run.
        for n in (1, 2):
            future = client.submit(run_remote, payload, topic, key, key=key, pure=False)
            future.result(timeout=60)
            future.release()
            del future
            wait_for(lambda n=n: len(ends) == n, what=f"end event {n}")
            wait_for(lambda: not known(), what="the run forgotten by the scheduler")
    first, second = ends
    assert (first["outcome"], first["exit_code"]) == ("exited", 0)
    assert (second["outcome"], second["exit_code"]) == ("exited", -1)
    assert second["error"] == f"worker lost: {first['host']}"
    assert marker.read_text() == "ran\n"


def test_a_lost_scheduler_fails_the_run_and_it_stays_resumable(
    own_cluster, store, write_dag, tmp_path
):
    started = tmp_path / "started"
    dag = write_dag(f"""
        [tasks.long]
        cmd = "touch {started}; sleep 60"
        retries = 2
        [tasks.after]
        cmd = "true"
        depends_on = ["long"]
    """)
    executor = dask_executor(store, own_cluster.address, tmp_path)

    def kill_scheduler() -> None:
        wait_for(started.exists, what="the task started")
        own_cluster.scheduler.kill()

    killer = threading.Thread(target=kill_scheduler, daemon=True)
    killer.start()
    run = executor.execute(dag)
    killer.join(5)
    assert run.status is RunStatus.FAILED
    assert run.error == "dask scheduler lost"
    (row,) = rows(store, run.id, "long")
    assert row.state is TaskStatus.FAILED
    assert row.error_message == "dask scheduler lost"
    assert rows(store, run.id, "after") == []
    assert run.status in (RunStatus.FAILED, RunStatus.CANCELLED)  # resumable statuses


def test_pools_hold_on_the_cluster_and_secrets_are_masked(cluster, store, write_dag, tmp_path):
    """Pools are kept by the local scheduler; a secret printed on a worker is masked here."""
    from wf.secrets import Secrets

    dag = write_dag("""
        secrets = ["API_TOKEN"]
        [pools]
        gpu = 1
        [tasks.train]
        matrix = { m = ["a", "b", "c", "d"] }
        pool = "gpu"
        cmd = 'echo "token $API_TOKEN"; sleep 0.2'
    """)
    secrets = Secrets(env={"API_TOKEN": "tok-on-the-cluster-42"})
    run = dask_executor(store, cluster.address, tmp_path).execute(dag, secrets=secrets)
    assert run.status is RunStatus.SUCCESS
    spans = sorted((r.start_time, r.end_time) for r in rows(store, run.id))
    assert len(spans) == 4
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start, spans  # capacity 1: never two at once, with 4 worker threads
    for log in (tmp_path / "logs" / run.id).rglob("*.log"):
        assert log.read_text() == "token ***\n"


def test_a_process_that_left_the_attempts_session_is_killed_on_the_worker_too(
    cluster, store, write_dag, tmp_path
):
    escaped = tmp_path / "escaped.pid"
    dag = write_dag(f"""
        [tasks.escape]
        cmd = "setsid sh -c 'echo $$ > {escaped}; exec sleep 60' & sleep 60"
        timeout = "1s"
        kill_grace = "200ms"
    """)
    run = dask_executor(store, cluster.address, tmp_path).execute(dag)
    assert run.status is RunStatus.FAILED
    pid = read_pid(escaped)
    wait_for(lambda: not alive(pid), what="the escaped process killed")
