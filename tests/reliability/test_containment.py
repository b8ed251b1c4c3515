"""Containment (docs/reliability.md): no process started by an attempt outlives it.

Every way out of the attempt's process group that a task commonly uses (GNU ``timeout``,
``setsid``, ``setpgid`` from Python and Perl, a daemon's double fork, ``nohup … &``) is
tried under every way an attempt ends: the shell's normal exit, the task's timeout, Ctrl+C
(once, and twice with a long grace period), and a ``kill -9`` of ``wf`` itself. The escaped
processes ignore SIGTERM, so only a SIGKILL ends them. A retry never overlaps its timed-out
predecessor, and a process that deliberately drops the attempt's environment is left alone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability_helpers import (
    RunFlow,
    alive,
    read_pids,
    record,
    task_alive,
    wait_for,
    wf_cmd,
    wf_env,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux /proc"),
]

#: The escaped process: ignores SIGTERM (inherited across exec), records its PID, sleeps.
INNER = 'trap "" TERM; echo $$ >> PIDS; exec sleep 60'
PY = sys.executable
Ident = tuple[int, "int | None"]  # a process: PID and start time

#: How a task's process leaves the attempt's process group (name -> shell line).
ESCAPES: dict[str, str] = {
    "timeout": "timeout 120 sh -c 'INNER' >/dev/null 2>&1 &",
    "setsid": "setsid sh -c 'INNER' >/dev/null 2>&1 &",
    "setsid holding stdout": "setsid sh -c 'INNER' &",
    "setpgid (python -c)": (
        "PY -c 'import os; os.setpgid(0, 0); "
        'os.execv("/bin/sh", ["sh", "-c", """INNER"""])\' >/dev/null 2>&1 &'
    ),
    "setpgid (perl)": (
        'perl -e \'setpgrp(0, 0); exec "/bin/sh", "-c", q{INNER}\' >/dev/null 2>&1 &'
    ),
    "double fork": (
        "PY -c 'import os; os.fork() and os._exit(0); os.setsid(); "
        "os.fork() and os._exit(0); "
        'os.execv("/bin/sh", ["sh", "-c", """INNER"""])\' >/dev/null 2>&1 &'
    ),
    "nohup … &": "nohup sh -c 'INNER' >/dev/null 2>&1 &",
}
if shutil.which("perl") is None:
    del ESCAPES["setpgid (perl)"]


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_")


def _workflow(tmp: Path, body: str, task_keys: str = "") -> tuple[str, dict[str, Path]]:
    """One task per escape, each recording its escaped process in a file of its own; BODY
    follows the escape (``WAIT`` stands for "until the escaped process is on record")."""
    pidfiles: dict[str, Path] = {}
    parts = []
    for name, line in ESCAPES.items():
        pidfile = tmp / f"{_slug(name)}.pids"
        pidfiles[name] = pidfile
        inner = INNER.replace("PIDS", str(pidfile))
        escape = line.replace("INNER", inner).replace("PY", PY)
        wait = f"while [ ! -s {pidfile} ]; do sleep 0.01; done"
        cmd = escape + "\n" + body.replace("WAIT", wait)
        parts.append(f"[tasks.{_slug(name)}]\ncmd = '''\n{cmd}\n'''\n{task_keys}\n")
    return "\n".join(parts), pidfiles


def _started(pid: int) -> int | None:
    """PID's start time (field 22 of /proc/PID/stat), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return int(fh.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _recorded(pidfiles: dict[str, Path]) -> dict[str, list[tuple[int, int | None]]]:
    """Each escape's processes as (PID, start time): a PID reused later is not a survivor."""
    return {name: [(p, _started(p)) for p in read_pids(path)] for name, path in pidfiles.items()}


def _survivors(pids: dict[str, list[tuple[int, int | None]]]) -> dict[str, list[int]]:
    return {
        name: found
        for name, group in pids.items()
        if (found := [p for p, t in group if t is not None and _started(p) == t and task_alive(p)])
    }


@pytest.fixture
def escaped() -> Iterator[list[Ident]]:
    """Processes (PID, start time) to SIGKILL after the test, whatever happened."""
    pids: list[Ident] = []
    yield pids
    for pid, started in pids:
        if started is not None and _started(pid) == started:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


# -- the attempt ends inside wf --------------------------------------------------------------------
@pytest.mark.parametrize("fault", ["normal exit", "timeout"])
def test_no_escaped_process_outlives_its_attempt(
    run_flow: RunFlow, tmp_path: Path, escaped: list[Ident], fault: str
) -> None:
    if fault == "normal exit":
        text, pidfiles = _workflow(tmp_path, "WAIT\necho done", 'kill_grace = "300ms"')
    else:
        text, pidfiles = _workflow(
            tmp_path, "WAIT\nsleep 60", 'timeout = "3s"\nkill_grace = "300ms"'
        )
    result = run_flow(text, "-j", str(len(ESCAPES)))
    pids = _recorded(pidfiles)
    escaped.extend(p for group in pids.values() for p in group)
    # Checked at once: the attempt was over only when nothing it started was left.
    assert _survivors(pids) == {}
    assert all(pids.values()), f"an escape never started: {pids}"
    for name in ESCAPES:
        row = result.row(_slug(name))
        if fault == "normal exit":
            assert row["state"] == "success", row
        else:
            assert row["error_message"] == "timed out after 3s", row
    # The orphans wf adopted (as a child subreaper) were reaped, not left as zombies.
    from wf.executor.containment import own_children, read_proc

    zombies = [p for p in own_children() if (s := read_proc(p)) and not s.alive]
    assert not set(zombies) & {pid for pid, _ in escaped}
    record(
        "containment",
        fault=fault,
        cases=sorted(ESCAPES),
        orphans=0,
        held=True,
    )


def test_the_gnu_timeout_in_the_foreground_dies_with_the_task_timeout(
    run_flow: RunFlow, tmp_path: Path, escaped: list[Ident]
) -> None:
    """The case from the report: ``timeout 120 cmd`` as a task's command, the task times out."""
    pidfile = tmp_path / "pids"
    result = run_flow(
        f"""
        [tasks.slow]
        cmd = '''echo start; timeout 120 sh -c 'echo $$ >> {pidfile}; exec sleep 60'; echo end'''
        timeout = "2s"
        kill_grace = "300ms"
        """
    )
    pids = _recorded({"timeout": pidfile})
    escaped.extend(pids["timeout"])
    assert result.row("slow")["error_message"] == "timed out after 2s"
    assert escaped, "the command under timeout never started"
    assert _survivors(pids) == {}
    record(
        "containment",
        fault="task timeout (timeout 120 cmd in the foreground)",
        cases=["timeout"],
        orphans=0,
        held=True,
    )


def test_a_retry_never_overlaps_its_timed_out_predecessor(
    run_flow: RunFlow, tmp_path: Path, escaped: list[Ident]
) -> None:
    beats = tmp_path / "beats"
    pidfile = tmp_path / "pids"
    result = run_flow(
        f"""
        [tasks.flaky]
        cmd = '''
        if [ "$WF_ATTEMPT" = 1 ]; then
          timeout 120 sh -c 'trap "" TERM; echo $$ >> {pidfile}
            while :; do echo beat >> {beats}; sleep 0.01; done'
        else
          echo second-attempt >> {beats}
          sleep 0.5
          echo second-attempt-end >> {beats}
        fi
        '''
        timeout = "2s"
        kill_grace = "300ms"
        retries = 1
        """
    )
    escaped.extend(_recorded({"timeout": pidfile})["timeout"])
    assert result.code == 0, result.err
    lines = beats.read_text().splitlines()
    assert "beat" in lines
    start = lines.index("second-attempt")
    assert lines[start:] == ["second-attempt", "second-attempt-end"], "attempt 1 still wrote"
    record("containment", fault="retry after timeout", cases=["timeout"], orphans=0, held=True)


# -- the attempt ends because wf is told to stop, or dies ------------------------------------------
def _start_wf(
    tmp_path: Path, text: str, pidfiles: dict[str, Path]
) -> tuple[subprocess.Popen[bytes], dict[str, list[int]]]:
    flow = tmp_path / "flow.toml"
    flow.write_text(textwrap.dedent(text))
    env = wf_env(tmp_path / "home")
    proc = subprocess.Popen(
        wf_cmd("run", str(flow), "--plain", "-j", str(len(pidfiles))),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(
            lambda: all(p.exists() and p.read_text().strip() for p in pidfiles.values()),
            timeout=60,
            what="every escape on record",
        )
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc, _recorded(pidfiles)


@pytest.mark.parametrize("presses", [1, 2], ids=["ctrl-c", "ctrl-c twice"])
def test_ctrl_c_leaves_no_escaped_process(
    tmp_path: Path, escaped: list[Ident], presses: int
) -> None:
    # With two presses the grace period is far longer than the test: only the second
    # Ctrl+C's immediate SIGKILL can end the TERM-ignoring processes in time.
    grace = "300ms" if presses == 1 else "10m"
    text, pidfiles = _workflow(tmp_path, "WAIT\nsleep 60", f'kill_grace = "{grace}"')
    proc, pids = _start_wf(tmp_path, text, pidfiles)
    escaped.extend(p for group in pids.values() for p in group)
    try:
        proc.send_signal(signal.SIGINT)
        if presses == 2:
            time.sleep(0.2)
            proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err.decode(errors="replace")
    assert b"Traceback" not in err
    assert _survivors(pids) == {}
    record(
        "containment",
        fault="Ctrl+C" if presses == 1 else "Ctrl+C twice (grace 10m)",
        cases=sorted(ESCAPES),
        orphans=0,
        held=True,
    )


def test_kill_9_of_wf_leaves_no_escaped_process(tmp_path: Path, escaped: list[Ident]) -> None:
    text, pidfiles = _workflow(tmp_path, "WAIT\nsleep 60")
    proc, pids = _start_wf(tmp_path, text, pidfiles)
    escaped.extend(p for group in pids.values() for p in group)
    proc.kill()
    proc.wait()
    assert proc.stderr is not None
    proc.stderr.close()
    # The orphan guard kills them once it sees wf gone.
    deadline = time.monotonic() + 20
    while _survivors(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _survivors(pids) == {}
    record("containment", fault="kill -9 of wf", cases=sorted(ESCAPES), orphans=0, held=True)


# -- the documented way out -----------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("setsid") is None, reason="setsid(1) is not installed")
@pytest.mark.parametrize("fault", ["normal exit", "timeout"])
def test_a_service_that_drops_the_attempt_environment_is_left_running(
    run_flow: RunFlow, tmp_path: Path, fault: str
) -> None:
    pidfile = tmp_path / "service"
    tail = "echo started" if fault == "normal exit" else "sleep 60"
    result = run_flow(
        f"""
        [tasks.start_service]
        cmd = '''
        env -u WF_RUN_ID setsid -f sh -c 'echo $$ > {pidfile}; exec sleep 60' >/dev/null 2>&1
        while [ ! -s {pidfile} ]; do sleep 0.01; done
        {tail}
        '''
        timeout = "3s"
        kill_grace = "300ms"
        """
    )
    (pid,) = read_pids(pidfile)
    try:
        assert alive(pid), "the service was killed with its attempt"
        expected = "success" if fault == "normal exit" else "failed"
        assert result.row("start_service")["state"] == expected
    finally:
        os.kill(pid, signal.SIGKILL)
    record("containment", fault=f"documented escape ({fault})", cases=["env -u"], held=True)
