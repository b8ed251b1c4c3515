"""Hostile tasks (docs/executors.md): processes that fight the runner.

TERM-ignoring tasks are killed after the grace period; background children are killed with
their group; a process that moves itself into another session (``setsid``) is still found and
ended with its attempt (containment; every escape is in ``test_containment.py``). Closed
stdout, output without newlines, output far beyond the log cap, and death by signal are
recorded exactly.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from reliability_helpers import (
    RunFlow,
    kill_all,
    read_pids,
    record,
    scale,
    task_alive,
    wait_dead,
)

pytestmark = pytest.mark.slow

MiB = 1024 * 1024


def marker(cap: int) -> bytes:
    """The line wf appends when an attempt reaches the log cap.

    See docs/executors.md#how-a-task-runs.
    """
    return (
        f"\n[wf] log limit of {cap} bytes reached; further output of this attempt is discarded\n"
    ).encode()


@pytest.fixture
def pidfile(tmp_path: Path) -> Iterator[Path]:
    """A file tasks append their pids to; everything in it is SIGKILLed after the test."""
    path = tmp_path / "pids"
    yield path
    kill_all(read_pids(path))


# -- termination -----------------------------------------------------------------------------------
def test_a_term_ignoring_task_is_killed_after_the_grace_period(
    run_flow: RunFlow, pidfile: Path
) -> None:
    result = run_flow(
        f"""
        [tasks.stubborn]
        cmd = 'trap "" TERM; echo $$ >> {pidfile}; sleep 30 & echo $! >> {pidfile}; wait; wait'
        timeout = "500ms"
        kill_grace = "300ms"
        """
    )
    assert result.code == 1
    row = result.row("stubborn")
    assert row["state"] == "failed"
    assert row["exit_code"] == -1
    assert row["error_message"] == "timed out after 500ms"
    assert row["duration_ms"] >= 800  # the timeout, then the whole grace period
    pids = read_pids(pidfile)
    assert len(pids) == 2
    assert not wait_dead(pids, timeout=2), "the TERM-ignoring group survived SIGKILL"
    record("hostile", case="TERM ignored, timeout 500ms, grace 300ms", held=True)


@pytest.mark.parametrize(
    ("case", "spawn"),
    [
        ("child keeps the pipes open", "sleep 30 & echo $! >> {pids}"),
        ("child detached from the pipes", "sleep 30 >/dev/null 2>&1 & echo $! >> {pids}"),
        (
            "TERM-ignoring grandchild",
            '(trap "" TERM; sleep 30 & echo $! >> {pids}; wait) >/dev/null 2>&1 &',
        ),
        (
            "fifty children",
            "for i in $(seq 50); do sleep 30 >/dev/null 2>&1 & echo $! >> {pids}; done",
        ),
    ],
)
def test_background_children_do_not_outlive_their_attempt(
    run_flow: RunFlow, pidfile: Path, case: str, spawn: str
) -> None:
    result = run_flow(
        f"""
        [tasks.parent]
        cmd = '''
        {spawn.format(pids=pidfile)}
        echo parent done
        '''
        kill_grace = "300ms"

        [tasks.after]
        cmd = "echo after"
        depends_on = ["parent"]
        """
    )
    assert result.code == 0, result.err
    assert result.row("parent")["state"] == "success"
    wait_pids = read_pids(pidfile)
    assert wait_pids
    # The attempt ended only after its whole group was gone
    # (docs/executors.md#the-termination-sequence).
    assert not [p for p in wait_pids if task_alive(p)], f"{case}: children outlived the attempt"
    record("hostile", case=f"background children: {case}", held=True)


@pytest.mark.skipif(shutil.which("setsid") is None, reason="setsid(1) is not installed")
@pytest.mark.parametrize("keeps_pipes", [False, True], ids=["detached", "holding-stdout"])
def test_a_process_that_setsids_away_still_ends_with_its_attempt(
    run_flow: RunFlow, pidfile: Path, keeps_pipes: bool
) -> None:
    """A process in a session of its own is still the attempt's (containment, found by its
    environment): it is ended with the attempt, after at most the 2 s end-of-file wait when it
    holds the pipes, and the run finishes."""
    redirect = "" if keeps_pipes else " >/dev/null 2>&1"
    result = run_flow(
        f"""
        [tasks.escape]
        cmd = 'setsid sleep 30{redirect} & echo $! >> {pidfile}; sleep 0.2; echo escaped'
        kill_grace = "300ms"
        """
    )
    assert result.code == 0, result.err
    row = result.row("escape")
    assert row["state"] == "success"
    assert row["duration_ms"] < 10_000  # wf did not wait for the escaped process
    (pid,) = read_pids(pidfile)
    assert not task_alive(pid), "a process in its own session outlived its attempt"
    record(
        "hostile",
        case=f"setsid escapee ({'holding stdout' if keeps_pipes else 'detached'})",
        held=True,
        note="ended with its attempt",
    )


@pytest.mark.skipif(shutil.which("setsid") is None, reason="setsid(1) is not installed")
def test_an_escaped_process_that_keeps_writing_does_not_hold_the_run(
    run_flow: RunFlow, pidfile: Path
) -> None:
    """An escapee writing to stdout without end: wf stops reading after the end-of-file wait
    (a bounded final drain), closes its end of the pipe, and the run finishes."""
    result = run_flow(
        f"""
        [tasks.escape]
        cmd = 'setsid sh -c "exec yes" & echo $! >> {pidfile}; echo escaped'
        """
    )
    assert result.code == 0, result.err
    row = result.row("escape")
    assert row["state"] == "success"
    assert row["duration_ms"] < 10_000
    assert "escaped" in Path(row["log_path"]).read_text()
    assert not [p for p in read_pids(pidfile) if task_alive(p)], "the writer outlived its attempt"
    record("hostile", case="setsid escapee writing forever", held=True)


# -- output ----------------------------------------------------------------------------------------
def test_a_task_that_closes_stdout_early_is_still_waited_for(run_flow: RunFlow) -> None:
    result = run_flow(
        """
        [tasks.closes_stdout]
        cmd = 'echo before; exec 1>&-; sleep 0.2; echo "after, on stderr" >&2'

        [tasks.closes_both]
        cmd = 'exec 1>&- 2>&-; sleep 0.3; exit 4'
        """,
        "--parallel",
    )
    assert result.code == 1
    first = result.row("closes_stdout")
    assert first["state"] == "success"
    assert Path(first["log_path"]).read_text() == "before\nafter, on stderr\n"
    both = result.row("closes_both")
    # Both pipes closed long before the exit: wf still waits for the exit status. (The row's
    # start is taken just after the spawn, so the recorded duration can be a few ms short.)
    assert both["error_message"] == "exit status 4"
    assert both["duration_ms"] >= 250
    record("hostile", case="stdout (and stderr) closed early", held=True)


def test_output_without_newlines_is_logged_and_registered_exactly(run_flow: RunFlow) -> None:
    size = scale(3 * MiB, 20 * MiB) + 7
    result = run_flow(
        f"""
        [tasks.partial]
        cmd = 'printf abc; printf def >&2; printf ghi'
        register = "joined"

        [tasks.one_long_line]
        cmd = 'head -c {size} /dev/zero | tr "\\0" x'
        """
    )
    assert result.code == 0, result.err
    partial = result.row("partial")
    assert sorted(Path(partial["log_path"]).read_bytes()) == sorted(b"abcdefghi")
    long_line = result.row("one_long_line")
    log = Path(long_line["log_path"])
    assert log.stat().st_size == size
    assert long_line["output_truncated"] == 0
    assert result.variables["joined"] == "abcghi"
    record("hostile", case=f"no newline: 9 bytes in 3 writes, {size} bytes in one line", held=True)


@pytest.mark.parametrize("cap_mib", [1, None], ids=["cap-1MiB", "default-cap"])
def test_a_flood_of_output_is_capped_and_the_rest_counted_exactly(
    run_flow: RunFlow,
    wf: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    cap_mib: int | None,
) -> None:
    total = scale(20 * MiB, 100 * MiB)
    cap = 64 * MiB if cap_mib is None else cap_mib * MiB
    if cap_mib is not None:
        monkeypatch.setenv("WF_LOG_MAX_BYTES", str(cap))
    # Both streams, in several chunks, one of them odd-sized.
    half = total // 2
    result = run_flow(
        f"""
        [tasks.flood]
        cmd = 'head -c {half} /dev/zero; head -c {total - half - 3} /dev/zero >&2; printf end'
        register = "tail_line"
        """
    )
    assert result.code == 0, result.err
    row = result.row("flood")
    log = Path(row["log_path"])
    if total <= cap:
        assert row["output_truncated"] == 0
        assert log.stat().st_size == total
    else:
        assert row["output_truncated"] == total - cap
        assert log.stat().st_size == cap + len(marker(cap))
        with log.open("rb") as fh:
            fh.seek(cap)
            assert fh.read() == marker(cap)
        shown = wf("logs", result.run["id"], "-n", "1")
        assert f"(log truncated: {total - cap} bytes discarded)" in shown.out
    # The stdout tail kept being updated past the cap: register saw the last line.
    assert result.variables["tail_line"].endswith("end")
    record(
        "output",
        bytes_printed=total,
        cap=cap,
        truncated=row["output_truncated"],
        log_bytes=log.stat().st_size,
        held=True,
    )


@pytest.mark.parametrize("sig", ["SEGV", "KILL", "TERM", "ABRT"])
def test_a_task_killed_by_a_signal_reports_the_signal(run_flow: RunFlow, sig: str) -> None:
    result = run_flow(f"[tasks.crash]\ncmd = 'echo going down; kill -{sig} $$'\n")
    assert result.code == 1
    row = result.row("crash")
    assert row["state"] == "failed"
    assert row["exit_code"] == -1
    assert row["error_message"] == f"killed by signal SIG{sig}"
    assert f"killed by signal SIG{sig}" in result.err
    record("hostile", case=f"exit by SIG{sig}", held=True)


def test_stdin_is_the_null_device(run_flow: RunFlow) -> None:
    result = run_flow("[tasks.reader]\ncmd = 'cat; read line || echo \"stdin at EOF\"'\n")
    assert result.code == 0
    assert Path(result.row("reader")["log_path"]).read_text() == "stdin at EOF\n"


def test_inspect_json_of_hostile_runs_stays_parseable(run_flow: RunFlow) -> None:
    result = run_flow(
        "[tasks.binary]\ncmd = 'head -c 4096 /dev/urandom; printf \"\\\\377\\\\376\"'\n"
    )
    assert result.code == 0
    assert json.dumps(result.rows)
