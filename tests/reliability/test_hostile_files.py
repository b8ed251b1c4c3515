"""Hostile files: a task that puts a FIFO, a directory, a symbolic link (loop) where wf keeps
its log or ``WF_OUTPUT`` file. wf never blocks on such a file (it opens only regular files,
without blocking and without following a link): the attempt concerned fails with a clear
error, the node and the run finish, and ``wf logs`` / ``wf export`` skip what is not a log.
An exception inside a node's lifecycle fails that node with its text; the run finishes.
"""

from __future__ import annotations

import json
import signal
import subprocess
import tarfile
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from reliability_helpers import RunFlow, raw_db, record, wait_for, wf_cmd, wf_env

pytestmark = pytest.mark.slow

#: Shell lines a task uses to name its own files: the log of attempt N is ``$D/attempt_N.log``.
PATHS = 'D=$(dirname "$WF_OUTPUT"); N=$((WF_ATTEMPT + 1))'
#: The attempt's own log replaced by a FIFO, once wf has created it (on the first output byte).
LOG_TO_FIFO = (
    'LOG="$D/attempt_$WF_ATTEMPT.log"; while [ ! -f "$LOG" ]; do sleep 0.01; done; '
    'rm -f "$LOG"; mkfifo "$LOG"'
)


def _wf(home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``wf ARGS`` as a subprocess: a hang fails the test instead of holding it."""
    return subprocess.run(
        wf_cmd(*args),
        env=wf_env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _flow(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "flow.toml"
    path.write_text(textwrap.dedent(text))
    return path


def _rows(home: Path) -> list[dict[str, Any]]:
    with raw_db(home / "wf.db") as conn:
        return [dict(r) for r in conn.execute("SELECT * FROM task_executions ORDER BY id")]


def _run_status(home: Path) -> str:
    with raw_db(home / "wf.db") as conn:
        return str(conn.execute("SELECT status FROM runs").fetchone()[0])


def _assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    text = result.stdout + result.stderr
    assert "Traceback" not in text, text
    assert "internal error" not in text, text


# -- the log ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("case", "plant", "reason"),
    [
        ("a FIFO", 'mkfifo "$D/attempt_$N.log"', "not a regular file"),
        ("a directory", 'mkdir "$D/attempt_$N.log"', "Is a directory"),
        ("a symbolic link", 'ln -s "$PRECIOUS" "$D/attempt_$N.log"', "is a symbolic link"),
        ("a symbolic link loop", 'ln -s "$D/attempt_$N.log" "$D/attempt_$N.log"', "symbolic"),
    ],
)
def test_a_file_planted_where_the_next_attempt_logs_fails_that_attempt(
    tmp_path: Path, case: str, plant: str, reason: str
) -> None:
    home = tmp_path / "home"
    precious = tmp_path / "precious"
    precious.write_text("keep me\n")
    flow = _flow(
        tmp_path,
        f"""
        [tasks.t]
        cmd = '''
        {PATHS}
        PRECIOUS={precious}
        [ "$WF_ATTEMPT" = 1 ] && {{ {plant}; exit 3; }}
        echo never
        '''
        retries = 1
        """,
    )
    result = _wf(home, "run", str(flow), "--plain")
    _assert_clean(result)
    assert result.returncode == 1, result.stderr
    rows = _rows(home)
    assert [r["attempt"] for r in rows] == [1, 2]
    assert rows[1]["state"] == "failed"
    assert rows[1]["error_message"].startswith("failed to start command: "), rows[1]
    assert reason in rows[1]["error_message"]
    assert rows[1]["error_message"].endswith("attempt_2.log")
    assert _run_status(home) == "failed"
    assert precious.read_text() == "keep me\n"  # never truncated through the link
    record("hostile-files", case=f"{case} at the next attempt's log", held=True)


def test_a_task_that_swaps_its_log_for_a_fifo_blocks_no_reader(tmp_path: Path) -> None:
    home = tmp_path / "home"
    flow = _flow(
        tmp_path,
        f"""
        [tasks.t]
        cmd = '''
        {PATHS}
        echo some output
        {LOG_TO_FIFO}
        exit 2
        '''
        """,
    )
    result = _wf(home, "run", str(flow), "--plain")
    _assert_clean(result)
    assert result.returncode == 1
    assert _run_status(home) == "failed"
    run_id = _rows(home)[0]["run_id"]
    for args in (
        ("logs", run_id),
        ("logs", run_id, "t", "-n", "5"),
        ("inspect", run_id),
        ("export", run_id, "-f", "tar", "-o", str(tmp_path / "out.tar.gz")),
    ):
        shown = _wf(home, *args, timeout=30)
        _assert_clean(shown)
        assert shown.returncode == 0, (args, shown.stderr)
    with tarfile.open(tmp_path / "out.tar.gz") as tar:
        assert tar.getnames() == ["run.json"]  # the FIFO is not a log: skipped
    record("hostile-files", case="log swapped for a FIFO: run, logs, inspect, export", held=True)


@pytest.mark.parametrize("stop", ["--timeout", "SIGTERM"])
def test_a_run_with_fifos_in_place_of_logs_still_stops(tmp_path: Path, stop: str) -> None:
    home = tmp_path / "home"
    started = tmp_path / "started"
    flow = _flow(
        tmp_path,
        f"""
        [tasks.t]
        cmd = '''
        {PATHS}
        echo first output
        {LOG_TO_FIFO}
        touch {started}
        echo more output
        sleep 60
        '''
        """,
    )
    args = ["run", str(flow), "--plain"] + (["--timeout", "2s"] if stop == "--timeout" else [])
    proc = subprocess.Popen(wf_cmd(*args), env=wf_env(home), stderr=subprocess.PIPE, text=True)
    try:
        wait_for(started.exists, timeout=60, what="the task")
        if stop == "SIGTERM":
            time.sleep(0.2)
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in err
    assert proc.returncode == (1 if stop == "--timeout" else 130), err
    assert _run_status(home) == "cancelled"
    record("hostile-files", case=f"FIFOs in place of logs, then {stop}", held=True)


# -- WF_OUTPUT -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("case", "swap", "error"),
    [
        (
            "a directory",
            'rm -f "$WF_OUTPUT"; mkdir "$WF_OUTPUT"',
            "WF_OUTPUT is not a regular file",
        ),
        (
            "a symbolic link loop",
            'rm -f "$WF_OUTPUT"; ln -s "$WF_OUTPUT" "$WF_OUTPUT"',
            "cannot read WF_OUTPUT file: Too many levels of symbolic links",
        ),
        ("a FIFO", 'rm -f "$WF_OUTPUT"; mkfifo "$WF_OUTPUT"', "WF_OUTPUT is not a regular file"),
    ],
)
def test_wf_output_replaced_fails_the_attempt_and_the_run_finishes(
    run_flow: RunFlow, case: str, swap: str, error: str
) -> None:
    result = run_flow(
        f"""
        [tasks.t]
        cmd = '''{swap}; echo done'''

        [tasks.other]
        cmd = "echo other"
        """,
        "--parallel",
    )
    assert result.code == 1
    row = result.row("t")
    assert row["state"] == "failed"
    assert row["error_message"] == error
    assert result.row("other")["state"] == "success"
    assert result.run["status"] == "failed"
    assert "internal error" not in result.err
    record("hostile-files", case=f"WF_OUTPUT replaced by {case}", held=True)


@pytest.mark.parametrize(
    ("case", "plant", "reason"),
    [
        ("a FIFO", 'mkfifo "$D/attempt_$N.output"', "WF_OUTPUT is not a regular file"),
        ("a directory", 'mkdir "$D/attempt_$N.output"', "WF_OUTPUT is not a regular file"),
    ],
)
def test_a_file_planted_where_the_next_wf_output_goes_fails_that_attempt(
    tmp_path: Path, case: str, plant: str, reason: str
) -> None:
    home = tmp_path / "home"
    flow = _flow(
        tmp_path,
        f"""
        [tasks.t]
        cmd = '''
        {PATHS}
        [ "$WF_ATTEMPT" = 1 ] && {{ {plant}; exit 3; }}
        echo never
        '''
        retries = 1
        """,
    )
    result = _wf(home, "run", str(flow), "--plain")
    _assert_clean(result)
    assert result.returncode == 1
    second = _rows(home)[1]
    # wf does not create WF_OUTPUT (docs/variables.md): the attempt runs, and fails when its
    # WF_OUTPUT is read.
    assert second["state"] == "failed"
    assert second["error_message"] == reason
    assert _run_status(home) == "failed"
    record("hostile-files", case=f"{case} at the next attempt's WF_OUTPUT", held=True)


# -- the safety net --------------------------------------------------------------------------------
def test_an_exception_inside_a_node_fails_that_node_and_the_run_finishes(
    run_flow: RunFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wf.executor.attempts as attempts

    def boom(_tail: bytes) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(attempts, "register_value", boom)
    result = run_flow(
        """
        [tasks.breaks]
        cmd = "echo value"
        register = "x"

        [tasks.fine]
        cmd = "echo fine"
        """,
        "--parallel",
    )
    assert result.code == 1
    assert result.run["status"] == "failed"
    row = result.row("breaks")
    assert row["state"] == "failed"
    assert row["error_message"] == "internal error: RuntimeError: boom"
    assert result.row("fine")["state"] == "success"
    assert "Traceback" not in result.err
    record("hostile-files", case="an exception inside a node's lifecycle", held=True)


# -- export integrity ------------------------------------------------------------------------------
def _read(tar: tarfile.TarFile, name: str) -> bytes:
    member = tar.extractfile(name)
    assert member is not None
    return member.read()


def test_export_packs_only_logs_of_the_run_under_safe_names(
    tmp_path: Path, run_flow: RunFlow, wf: Any, wf_home: Path
) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("not a log of this run\n")
    result = run_flow(
        """
        [tasks.a]
        cmd = "echo a"

        [tasks.b]
        cmd = "echo b"

        [tasks.c]
        cmd = "echo c"
        """
    )
    run_id = result.run["id"]
    db = wf_home / "wf.db"
    with raw_db(db) as conn:
        conn.execute("UPDATE task_executions SET log_path = ? WHERE task_id = 'a'", (str(outside),))
        b_log = conn.execute("SELECT log_path FROM task_executions WHERE task_id = 'b'").fetchone()
        climbing = str(Path(b_log[0]).parent / ".." / ".." / ".." / "secret.txt")
        conn.execute("UPDATE task_executions SET log_path = ? WHERE task_id = 'b'", (climbing,))
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("UPDATE task_executions SET task_id = '../../evil' WHERE task_id = 'c'")
    out = tmp_path / "run.tar.gz"
    code, _, err = wf("export", run_id, "-f", "tar", "-o", str(out))
    assert code == 0, err
    with tarfile.open(out) as tar:
        names = tar.getnames()
        assert "run.json" in names
        for name in names:
            assert not name.startswith("/")
            assert ".." not in Path(name).parts, name
        packed = {n: _read(tar, n) for n in names if n != "run.json"}
        packed_json = _read(tar, "run.json")
    assert list(packed.values()) == [b"c\n"]  # only c's log is under <logs>/<run_id>/
    assert json.loads(packed_json)["run"]["id"] == run_id
    record("export", case="foreign log paths and a climbing node ID", held=True)
