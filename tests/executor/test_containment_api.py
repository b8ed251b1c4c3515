"""Containment's plain API: find and end an attempt's processes wherever they moved."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wf.executor import containment
from wf.executor.containment import Markers, attempt_members, kill_attempt_tree, read_proc

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")


def _alive(pid: int) -> bool:
    proc = read_proc(pid)
    return proc is not None and proc.alive


def _wait_pids(path: Path, count: int) -> list[int]:
    deadline = time.monotonic() + 20
    while True:
        pids = [int(t) for t in path.read_text().split()] if path.exists() else []
        if len(pids) >= count:
            return pids
        assert time.monotonic() < deadline, "the processes never started"
        time.sleep(0.01)


def test_markers_need_all_three_variables() -> None:
    markers = Markers.of("RUN1", "build[os=linux]", 2)
    environ = b"\0A=1\0WF_RUN_ID=RUN1\0WF_TASK_ID=build[os=linux]\0WF_ATTEMPT=2\0"
    assert markers.found_in(environ)
    assert not markers.found_in(environ.replace(b"WF_ATTEMPT=2", b"WF_ATTEMPT=22"))
    assert not markers.found_in(environ.replace(b"WF_RUN_ID=RUN1", b"WF_RUN_ID=RUN10"))
    assert Markers.from_env({"WF_RUN_ID": "RUN1", "WF_TASK_ID": "t"}) is None
    token = markers.token(42)
    assert token.split(":")[0] == "42"
    assert bytes.fromhex(token.split(":")[2]) == b"build[os=linux]"


def test_kill_attempt_tree_ends_every_process_of_the_attempt_and_only_those(
    tmp_path: Path,
) -> None:
    pids = tmp_path / "pids"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "WF_RUN_ID": "R",
        "WF_TASK_ID": "t",
        "WF_ATTEMPT": "1",
    }
    # A shell in its own session with: a background child, a TERM-ignoring process in a
    # session of its own, and a service that dropped WF_RUN_ID and detached.
    script = (
        f"sleep 60 & echo $! >> {pids}; "
        f"setsid sh -c 'trap \"\" TERM; echo $$ >> {pids}; exec sleep 60' & "
        f"env -u WF_RUN_ID setsid -f sh -c 'echo $$ >> {pids}.svc; exec sleep 60'; "
        "exec sleep 60"
    )
    shell = subprocess.Popen(["/bin/sh", "-c", script], env=env, start_new_session=True)
    service = None
    try:
        children = _wait_pids(pids, 2)
        (service,) = _wait_pids(Path(f"{pids}.svc"), 1)
        members = attempt_members(shell.pid, Markers.of("R", "t", 1))
        assert {shell.pid, *children} <= members
        assert service not in members
        kill_attempt_tree(shell.pid, "R", "t", 1, grace=0.2)
        assert not [p for p in (shell.pid, *children) if _alive(p)]
        assert _alive(service)
    finally:
        shell.kill()
        shell.wait()
        if service is not None:
            os.kill(service, 9)


def test_the_subreaper_is_set_once_and_reported() -> None:
    assert containment.become_subreaper() is containment.become_subreaper()


def test_log_directory_helpers_are_known_children_until_reaped(tmp_path: Path) -> None:
    from wf.executor import procgroup
    from wf.executor.logdirs import MIN_NODES, prepare_log_dirs

    nodes = [f"n{i}" for i in range(MIN_NODES)]
    before = set(procgroup.started_children())
    reap = prepare_log_dirs(str(tmp_path / "run"), nodes)
    helpers = procgroup.started_children() - before
    assert helpers, "no mkdir helper was started"
    # A finished helper is a zombie child until reaped: the stray check must not take it for
    # an adopted orphan to look at (it is skipped as one of ours).
    for pid in helpers:
        assert pid in containment.own_children()
    assert not containment.strays_left({})
    reap()
    assert not helpers & procgroup.started_children()
    assert all((tmp_path / "run" / node).is_dir() for node in nodes)
