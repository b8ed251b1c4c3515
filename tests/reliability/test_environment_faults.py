"""Environment faults: unwritable logs, full disks, a locked, corrupt or missing database, and a
workflow file that disappeared before a resume.

Every case ends with a clear ``Error:`` line, a documented exit code (docs/cli.md#global-options),
no traceback, and a database that passes ``PRAGMA quick_check`` with no run left ``running``.
We run as root in CI, where permission bits do not stop writes, so unwritable paths are built
from a path below a regular file (ENOTDIR) or a read-only tmpfs (EROFS); full disks are tiny
tmpfs mounts.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability_helpers import (
    SOAK,
    assert_clean_error,
    integrity,
    quick_check,
    read_pids,
    record,
    run_wf,
    runs_json,
    scale,
    statuses,
    try_mount_tmpfs,
    umount,
    wait_dead,
    wf_env,
)

pytestmark = pytest.mark.slow

SMALL = """\
name = "small"

[tasks.one]
cmd = "echo one"

[tasks.two]
cmd = "echo two"
depends_on = ["one"]
"""

FAILING = SMALL + '\n[tasks.three]\ncmd = "exit 3"\ndepends_on = ["two"]\n'


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def flow(tmp_path: Path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


@pytest.fixture
def mount_point(tmp_path: Path) -> Iterator[Path]:
    """A directory for a tmpfs; unmounted after the test."""
    target = tmp_path / "mnt"
    target.mkdir()
    yield target
    umount(target)


def mount_or_skip(target: Path, *options: str) -> None:
    why = try_mount_tmpfs(target, *options)
    if why is not None:
        pytest.skip(why)


def assert_consistent(db: Path) -> None:
    """quick_check ok and, after the sweep, no run left running."""
    assert quick_check(db) == "ok"
    assert "running" not in statuses(db)
    assert "resuming" not in statuses(db)


# -- the logs directory cannot be written ----------------------------------------------------------
def _unwritable_logs(kind: str, tmp_path: Path, mount_point: Path) -> Path:
    if kind == "below-a-file":
        blocker = tmp_path / "regular-file"
        blocker.write_text("not a directory\n")
        return blocker / "logs"
    mount_or_skip(mount_point, "ro", "size=64k")
    return mount_point / "logs"


@pytest.mark.parametrize("kind", ["below-a-file", "read-only-fs"])
@pytest.mark.parametrize("mode", [["--sequential"], ["-j", "2"]], ids=["sequential", "j2"])
def test_an_unwritable_logs_directory_fails_the_run_cleanly(
    tmp_path: Path, home: Path, flow: Path, mount_point: Path, kind: str, mode: list[str]
) -> None:
    logs = _unwritable_logs(kind, tmp_path, mount_point)
    env = wf_env(home, WF_PATHS_LOGS=str(logs))
    result = run_wf("run", str(flow), "--plain", *mode, env=env)
    assert_clean_error(result, 1)
    assert "failed to start command" in result.stderr
    assert str(logs) in result.stderr  # the message says which path
    assert_consistent(home / "wf.db")
    (run,) = runs_json(env)
    assert run["status"] == "failed"
    # The failure is an ordinary failed attempt: resumable once the directory is fixed.
    fixed = wf_env(home)
    resumed = run_wf("resume", run["id"], "--plain", env=fixed)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    record(
        "environment",
        case=f"logs dir unwritable ({kind}), {' '.join(mode)}",
        exit_code=1,
        held=True,
    )


# -- full disks ------------------------------------------------------------------------------------
def test_a_full_disk_under_the_logs_discards_and_counts_output(
    tmp_path: Path, home: Path, mount_point: Path
) -> None:
    mount_or_skip(mount_point, "size=64k")
    size = 300_000
    pids = tmp_path / "pids"
    workflow = tmp_path / "big.toml"
    workflow.write_text(
        textwrap.dedent(
            f"""
            name = "big"
            [tasks.flood]
            cmd = 'echo $$ >> {pids}; head -c {size} /dev/zero; sleep 0.2'
            [tasks.more]
            cmd = 'echo $$ >> {pids}; head -c {size} /dev/zero'
            depends_on = ["flood"]
            """
        )
    )
    env = wf_env(home, WF_PATHS_LOGS=str(mount_point / "logs"))
    result = run_wf("run", str(workflow), "--plain", env=env)
    text = result.stdout + result.stderr
    assert "Traceback" not in text
    assert result.returncode in (0, 1), text
    assert "No space left on device" in result.stderr
    assert not wait_dead(read_pids(pids), timeout=5), "a task process outlived the full disk"
    assert_consistent(home / "wf.db")
    (run,) = runs_json(env)
    shown = run_wf("inspect", run["id"], "--json", env=env)
    import json

    rows = json.loads(shown.stdout)["tasks"]
    for row in rows:
        # Every byte is either in the log or counted as discarded.
        logged = Path(row["log_path"]).stat().st_size if Path(row["log_path"]).exists() else 0
        assert logged + row["output_truncated"] == size, row
    assert run["status"] == "success", run
    record(
        "environment",
        case="disk full under the logs (64 KiB tmpfs)",
        exit_code=result.returncode,
        held=True,
    )


def test_a_full_disk_under_the_database_stops_cleanly_and_recovers(
    tmp_path: Path, home: Path, mount_point: Path
) -> None:
    mount_or_skip(mount_point, "size=8m")
    db = mount_point / "wf.db"
    env = wf_env(home, WF_PATHS_DATABASE=str(db))
    assert run_wf("init", env=env).returncode == 0
    filler = mount_point / "filler"
    # Leave about 150 KiB: enough to start a run, not enough to record all of it.
    free = os.statvfs(mount_point).f_bavail * os.statvfs(mount_point).f_frsize
    filler.write_bytes(b"\0" * max(0, free - 150 * 1024))
    workflow = tmp_path / "many.toml"
    values = ", ".join(str(i) for i in range(40))
    workflow.write_text(
        'name = "many"\n[tasks.t]\nmatrix = { n = [' + values + "] }\n"
        'cmd = \'echo "v{{.n}}=$(head -c 2000 /dev/zero | tr "\\\\0" y)" >> "$WF_OUTPUT"\'\n'
    )
    result = run_wf("run", str(workflow), "--plain", "-j", "4", env=env)
    text = result.stdout + result.stderr
    assert "Traceback" not in text
    assert_clean_error(result, 1)
    assert "database or disk is full" in result.stderr
    # Not one warning per failed write: a bounded report.
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) <= 5, "\n".join(warnings)
    filler.unlink()  # space again
    assert integrity(db) == "ok"
    runs = runs_json(env)
    assert [r["status"] for r in runs] in ([], ["interrupted"], ["failed"]), runs
    assert_consistent(db)
    if runs:
        resumed = run_wf("resume", runs[0]["id"], "--plain", env=env)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    record(
        "environment",
        case="disk full under the database (8 MiB tmpfs, ~150 KiB free)",
        exit_code=1,
        held=True,
    )


# -- the database ----------------------------------------------------------------------------------
LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


def test_a_database_locked_past_the_busy_timeout_is_a_clear_error(home: Path, flow: Path) -> None:
    env = wf_env(home)
    assert run_wf("init", env=env).returncode == 0
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(home / "wf.db"), "12"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert locker.stdout is not None
        assert locker.stdout.readline().strip() == "locked"
        started = time.monotonic()
        result = run_wf("run", str(flow), "--plain", env=env)
        waited = time.monotonic() - started
        assert_clean_error(result, 1)
        assert "database is locked" in result.stderr
        # Readers are not blocked by a writer in WAL mode.
        listed = run_wf("runs", env=env)
        assert listed.returncode == 0, listed.stderr
    finally:
        locker.kill()
        locker.wait()
    assert_consistent(home / "wf.db")
    record(
        "environment",
        case="database locked past the 5 s busy timeout",
        exit_code=1,
        waited_s=round(waited, 1),
        held=True,
    )


@pytest.mark.skipif(scale(0, 1) == 0, reason="soak mode only (holds a lock for 7 s)")
def test_a_lock_longer_than_the_busy_timeout_in_the_middle_of_a_run_is_survived(
    tmp_path: Path, home: Path
) -> None:
    workflow = tmp_path / "slow.toml"
    workflow.write_text(
        'name = "slow"\n'
        + "".join(
            f'[tasks.t{i}]\ncmd = "sleep 0.5; echo {i}"\n'
            + (f'depends_on = ["t{i - 1}"]\n' if i else "")
            for i in range(12)
        )
    )
    env = wf_env(home)
    assert run_wf("init", env=env).returncode == 0
    proc = subprocess.Popen(
        ["sh", "-c", f"sleep 1; exec {sys.executable} -c '{LOCKER}' {home / 'wf.db'} 7"],
        stdout=subprocess.DEVNULL,
    )
    result = run_wf("run", str(workflow), "--plain", env=env)
    proc.wait()
    assert result.returncode == 0, result.stdout + result.stderr
    (run,) = runs_json(env)
    assert run["status"] == "success"
    assert run["tasks_success"] == 12
    assert_consistent(home / "wf.db")
    record(
        "environment", case="database locked for 7 s in the middle of a run", exit_code=0, held=True
    )


def _corrupt(db: Path, how: str, rng: random.Random) -> None:
    if how == "random-bytes":
        db.write_bytes(rng.randbytes(64 * 1024))
    else:  # a valid header, garbage pages after it
        data = bytearray(db.read_bytes())
        start = 4096 if how == "bad-schema-page" else 8192
        data[start:] = rng.randbytes(len(data) - start)
        db.write_bytes(bytes(data))
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


COMMANDS = [
    ["runs"],
    ["runs", "--json"],
    ["run", "FLOW", "--plain"],
    ["inspect", "RUN"],
    ["logs", "RUN"],
    ["resume", "RUN"],
    ["audit", "RUN"],
    ["export", "RUN"],
    ["diff", "RUN", "RUN"],
    ["status", "RUN"],
    ["list", "--detailed"],
    ["health"],
    ["validate", "FLOW", "--store"],
    ["init"],
]


@pytest.mark.parametrize("how", ["random-bytes", "bad-schema-page", "bad-data-pages"])
def test_a_corrupt_database_gives_a_clear_error_everywhere(
    home: Path, flow: Path, how: str
) -> None:
    env = wf_env(home)
    first = run_wf("run", str(flow), "--plain", env=env)
    assert first.returncode == 0
    (run,) = runs_json(env)
    # Checkpoint the WAL into the main file, so corrupting it corrupts the data.
    import sqlite3

    conn = sqlite3.connect(home / "wf.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    _corrupt(home / "wf.db", how, random.Random(how))
    seen: dict[int, int] = {}
    # Every command on the fully random file; a representative few on the others in fast mode.
    commands = COMMANDS if SOAK or how == "random-bytes" else [*COMMANDS[:4], ["health"]]
    for argv in commands:
        args = [str(flow) if a == "FLOW" else run["id"] if a == "RUN" else a for a in argv]
        result = run_wf(*args, env=env, timeout=60)
        text = result.stdout + result.stderr
        assert "Traceback" not in text, (args, text)
        seen[result.returncode] = seen.get(result.returncode, 0) + 1
        if argv[0] == "list":
            continue  # needs the database only for its counts
        if result.returncode != 0:
            assert_clean_error(result, 1)
    assert set(seen) <= {0, 1}
    record(
        "environment",
        case=f"corrupt database ({how}), {len(commands)} commands",
        exit_code="/".join(str(c) for c in sorted(seen)),
        held=True,
    )


# -- the workflow file went away -------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["deleted", "invalid"])
def test_resume_after_the_workflow_file_changed_underneath(
    tmp_path: Path, home: Path, damage: str
) -> None:
    """Reload errors abort the resume before the claim (docs/resume.md#what-a-resume-does).

    A file that is gone is "workflow not found" (a command error, exit 1,
    docs/cli.md#global-options); a file that no longer parses is an invalid workflow (exit 2).
    Either way the run is not claimed.
    """
    workflow = tmp_path / "small.toml"
    workflow.write_text(FAILING)
    env = wf_env(home)
    assert run_wf("run", str(workflow), "--plain", env=env).returncode == 1
    (run,) = runs_json(env)
    if damage == "deleted":
        workflow.unlink()
    else:
        workflow.write_text('name = "small"\n[tasks.x\n')
    result = run_wf("resume", run["id"][:8], "--plain", env=env)
    if damage == "deleted":
        assert_clean_error(result, 1)
        assert f"workflow not found: {workflow}" in result.stderr
    else:
        assert_clean_error(result, 2)
        assert "TOML syntax error" in result.stderr
    (after,) = runs_json(env)
    assert after["status"] == "failed"
    assert after["resume_count"] == 0  # not claimed
    record(
        "environment",
        case=f"workflow file {damage} before resume",
        exit_code=result.returncode,
        held=True,
    )


# -- bytes that are not UTF-8 ----------------------------------------------------------------------
def test_paths_and_arguments_that_are_not_utf8_are_refused_cleanly(
    tmp_path: Path, home: Path, flow: Path
) -> None:
    """Linux hands wf undecodable bytes as lone surrogates, which SQLite cannot store."""
    bad = os.fsdecode(b"\x80")
    env = wf_env(home)
    cases = {
        "--var value": (["run", str(flow), "--var", f"k=a{bad}b"], env, None, 2),
        "workflow filter": (["runs", "-w", f"x{bad}"], env, None, 2),
        "logs path from the environment": (
            ["run", str(flow)],
            wf_env(home, WF_PATHS_LOGS=str(tmp_path / f"logs{bad}")),
            None,
            2,
        ),
    }
    odd_dir = tmp_path / f"dir{bad}"
    odd_dir.mkdir()
    (odd_dir / "small.toml").write_text(SMALL)
    cases["workflow in a directory with such a name"] = (["run", "./small.toml"], env, odd_dir, 1)
    for name, (args, case_env, cwd, code) in cases.items():
        result = run_wf(*args, env=case_env, cwd=cwd)
        assert_clean_error(result, code)
        assert "UTF-8" in result.stderr, name
    assert_consistent(home / "wf.db")
    assert runs_json(env) == []
    record(
        "environment",
        case="non-UTF-8 bytes in arguments, paths and cwd",
        exit_code="2/1",
        held=True,
    )
