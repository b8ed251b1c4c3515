"""The attempt reactor: many attempts on one thread, each with its own log, exit and deadline."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from wf.executor.cancel import AttemptCancel, CancelScope
from wf.executor.effects import Sleep, Spawn, Steps, drive
from wf.executor.procgroup import group_alive
from wf.executor.reactor import Attempt, Reactor, run_attempt
from wf.executor.runner import AttemptResult, AttemptSpec, Outcome


def _spec(tmp_path: Path, name: str, command: str, **kwargs: object) -> AttemptSpec:
    return AttemptSpec(
        command=command,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        log_path=tmp_path / f"{name}.log",
        **kwargs,  # type: ignore[arg-type]
    )


def _run_all(reactor: Reactor, attempts: list[Attempt], limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while any(a.result is None for a in attempts):
        assert time.monotonic() < deadline, "attempts did not finish"
        reactor.wait(0.05)


def _result(attempt: Attempt) -> AttemptResult:
    assert attempt.result is not None
    return attempt.result


def test_concurrent_attempts_keep_their_own_output_and_exit_status(tmp_path: Path) -> None:
    reactor = Reactor()
    try:
        attempts = [
            reactor.start(_spec(tmp_path, f"a{i}", f"echo out{i}; echo err{i} >&2; exit {i}"))
            for i in range(6)
        ]
        assert reactor.active == 6
        _run_all(reactor, attempts)
    finally:
        reactor.close()
    assert reactor.active == 0
    for i, attempt in enumerate(attempts):
        result = _result(attempt)
        assert result.exit_code == i
        assert result.ok is (i == 0)
        assert result.stdout_tail == f"out{i}\n".encode()
        log = (tmp_path / f"a{i}.log").read_bytes()
        assert f"out{i}\n".encode() in log
        assert f"err{i}\n".encode() in log


def test_wait_reports_each_attempt_exactly_once(tmp_path: Path) -> None:
    reactor = Reactor()
    reported: list[Attempt] = []
    try:
        attempts = [
            reactor.start(_spec(tmp_path, f"b{i}", f"sleep 0.0{i}"), tag=i) for i in range(5)
        ]
        deadline = time.monotonic() + 20
        while len(reported) < 5:
            assert time.monotonic() < deadline
            reported.extend(reactor.wait(0.05))
        assert reactor.wait(0.01) == []
    finally:
        reactor.close()
    assert sorted(a.tag for a in reported) == [0, 1, 2, 3, 4]  # type: ignore[type-var]
    assert {id(a) for a in reported} == {id(a) for a in attempts}


def test_timeout_of_one_attempt_leaves_the_others_running(tmp_path: Path) -> None:
    reactor = Reactor()
    try:
        slow = reactor.start(
            _spec(tmp_path, "slow", "trap '' TERM; sleep 30", timeout=0.3, kill_grace=0.2)
        )
        quick = reactor.start(_spec(tmp_path, "quick", "sleep 0.5; echo done"))
        _run_all(reactor, [slow, quick])
    finally:
        reactor.close()
    assert _result(slow).outcome is Outcome.TIMED_OUT
    assert _result(slow).error is not None
    assert _result(slow).error.startswith("timed out after")  # type: ignore[union-attr]
    assert not group_alive(_result(slow).pid or 0)
    assert _result(quick).ok
    assert _result(quick).stdout_tail == b"done\n"


def test_cancellation_kills_the_whole_group(tmp_path: Path) -> None:
    scope = CancelScope()
    reactor = Reactor()
    marker = tmp_path / "child.pid"
    try:
        attempt = reactor.start(
            _spec(tmp_path, "c", f"sleep 30 & echo $! > {marker}; wait", kill_grace=1.0),
            AttemptCancel(scope, None),
        )
        deadline = time.monotonic() + 10
        while not marker.exists() or not marker.read_text().strip():
            assert time.monotonic() < deadline
            reactor.wait(0.02)
        scope.cancel("stop now")
        reactor.sweep_soon()
        _run_all(reactor, [attempt])
    finally:
        reactor.close()
    result = _result(attempt)
    assert result.outcome is Outcome.CANCELLED
    assert result.error == "cancelled: stop now"
    assert not group_alive(result.pid or 0)


def test_background_child_holding_the_pipe_is_terminated_after_the_shell_exits(
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    result = run_attempt(_spec(tmp_path, "bg", "sleep 30 & echo shell done", kill_grace=0.5))
    assert result.ok
    assert result.stdout_tail == b"shell done\n"
    assert time.monotonic() - started < 20
    assert not group_alive(result.pid or 0)


def test_a_command_that_cannot_start_is_an_attempt_already_over(tmp_path: Path) -> None:
    reactor = Reactor()
    try:
        spec = _spec(tmp_path, "nostart", "true")
        spec.env = {"BAD": "x"}
        # A working directory that vanishes makes the spawn itself fail.
        gone = tmp_path / "gone"
        gone.mkdir()
        spec.cwd = str(gone)
        gone.rmdir()
        attempt = reactor.start(spec)
    finally:
        reactor.close()
    result = _result(attempt)
    assert result.outcome is Outcome.START_FAILED
    assert result.error is not None
    assert result.error.startswith("failed to start command")
    # Nothing was written: no log file (docs/executors.md, "How a task runs").
    assert not (tmp_path / "nostart.log").exists()


def test_a_command_that_cannot_start_empties_a_stale_log(tmp_path: Path) -> None:
    # A run killed before the attempt was on record left a log under its number: a failed
    # start must not let that output pass for this attempt's.
    stale = tmp_path / "nostart.log"
    stale.write_text("output of a killed attempt\n")
    spec = _spec(tmp_path, "nostart", "true")
    gone = tmp_path / "gone"
    gone.mkdir()
    spec.cwd = str(gone)
    gone.rmdir()
    reactor = Reactor()
    try:
        attempt = reactor.start(spec)
    finally:
        reactor.close()
    assert _result(attempt).outcome is Outcome.START_FAILED
    assert stale.read_bytes() == b""


def _plant(kind: str, path: Path, precious: Path) -> None:
    if kind == "a directory":
        path.mkdir()
    elif kind == "a FIFO":
        os.mkfifo(path)
    elif kind == "a symbolic link":
        path.symlink_to(precious)
    else:
        path.symlink_to(path)


#: What a task may put where its log goes, and the reason wf gives when it refuses it.
PLANTED = {
    "a directory": "Is a directory",
    "a FIFO": "not a regular file",
    "a symbolic link": "is a symbolic link",
    "a symbolic link loop": "is a symbolic link",
}


@pytest.mark.parametrize("kind", PLANTED)
def test_a_file_in_place_of_the_log_raises_at_start_and_leaves_nothing_running(
    tmp_path: Path, kind: str
) -> None:
    precious = tmp_path / "precious"
    precious.write_text("keep me\n")
    spec = _spec(tmp_path, "x", "sleep 30")
    _plant(kind, tmp_path / "x.log", precious)
    reactor = Reactor()
    try:
        with pytest.raises(OSError, match=PLANTED[kind]):
            reactor.start(spec)
        assert reactor.active == 0
    finally:
        reactor.close()
    assert precious.read_text() == "keep me\n"


@pytest.mark.parametrize("printed", ["hello\n", ""])
def test_a_log_that_cannot_be_created_costs_only_the_output(
    tmp_path: Path, printed: str, caplog: pytest.LogCaptureFixture
) -> None:
    # No file at the start, none possible at the first byte: a write error like a full disk.
    spec = _spec(tmp_path, "x", f"printf '{printed}'; exit 0")
    spec.log_path = tmp_path / "missing-dir" / "x.log"
    with caplog.at_level("WARNING", logger="wf.executor"):
        result = run_attempt(spec)
    assert result.ok
    assert result.stdout_tail == printed.encode()
    assert result.output_truncated == len(printed)
    assert not (tmp_path / "missing-dir").exists()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    if printed:
        assert warnings == [
            f"cannot write log {spec.log_path}: No such file or directory; "
            f"{len(printed)} byte(s) of output discarded"
        ]
    else:
        assert warnings == []


@pytest.mark.parametrize("kind", PLANTED)
def test_a_file_planted_before_the_first_byte_is_refused_then(
    tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The start found nothing at the log path; the task puts something there before it
    # prints. The first byte meets it: refused without blocking or following a link, the
    # output is discarded with a warning, the attempt goes on.
    precious = tmp_path / "precious"
    precious.write_text("keep me\n")
    go = tmp_path / "go"
    spec = _spec(tmp_path, "x", f"while [ ! -e {go} ]; do sleep 0.01; done; echo late; exit 4")
    reactor = Reactor()
    try:
        with caplog.at_level("WARNING", logger="wf.executor"):
            attempt = reactor.start(spec)
            _plant(kind, tmp_path / "x.log", precious)
            go.touch()
            _run_all(reactor, [attempt])
    finally:
        reactor.close()
    result = _result(attempt)
    assert result.outcome is Outcome.EXITED
    assert result.exit_code == 4
    assert result.stdout_tail == b"late\n"
    assert result.output_truncated == len(b"late\n")
    assert precious.read_text() == "keep me\n"
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning == (
        f"cannot write log {spec.log_path}: {PLANTED[kind]}; 5 byte(s) of output discarded"
    )


def test_an_attempt_that_prints_nothing_leaves_no_log_file(tmp_path: Path) -> None:
    quiet = run_attempt(_spec(tmp_path, "quiet", "true"))
    failed = run_attempt(_spec(tmp_path, "failed", "exit 3"))
    loud = run_attempt(_spec(tmp_path, "loud", "echo hi >&2"))
    assert quiet.ok
    assert loud.ok
    assert failed.exit_code == 3
    assert (quiet.output_truncated, failed.output_truncated) == (0, 0)
    assert not (tmp_path / "quiet.log").exists()
    assert not (tmp_path / "failed.log").exists()
    assert (tmp_path / "loud.log").read_bytes() == b"hi\n"  # stderr alone creates it too
    assert stat.S_IMODE((tmp_path / "loud.log").stat().st_mode) == 0o600


def test_output_held_back_by_the_masker_creates_the_log_when_flushed(tmp_path: Path) -> None:
    # "abc" may begin the secret "abcdef": held back until the end, then written at close.
    result = run_attempt(_spec(tmp_path, "held", "printf abc", secrets=("abcdef",)))
    assert result.ok
    assert (tmp_path / "held.log").read_bytes() == b"abc"
    masked = run_attempt(_spec(tmp_path, "masked", "printf abc; printf def", secrets=("abcdef",)))
    assert masked.ok
    assert (tmp_path / "masked.log").read_bytes() == b"***"


def test_the_output_file_is_not_created_the_task_creates_it(tmp_path: Path) -> None:
    # docs/variables.md: WF_OUTPUT names a file wf does not create.
    output = tmp_path / "attempt.output"
    command = f'test -e "{output}" && echo exists || echo missing'
    result = run_attempt(_spec(tmp_path, "o", command, output_path=output))
    assert result.ok
    assert result.stdout_tail == b"missing\n"
    assert not output.exists()


def test_drive_runs_a_lifecycle_that_sleeps_and_spawns(tmp_path: Path) -> None:
    scope = CancelScope()
    cancel = AttemptCancel(scope, None)
    starts: list[int] = []

    def steps() -> Steps[list[object]]:
        slept = yield Sleep(0.01, cancel)
        first = yield Spawn(_spec(tmp_path, "d1", "exit 3"), cancel, lambda pid, t, host=None: None)
        second = yield Spawn(
            _spec(tmp_path, "d2", "echo ok"), cancel, lambda pid, t, host=None: None
        )
        return [slept, first, second]

    slept, first, second = drive(steps(), on_started=lambda: starts.append(1))
    assert slept is False
    assert isinstance(first, AttemptResult)
    assert first.exit_code == 3
    assert isinstance(second, AttemptResult)
    assert second.ok
    assert starts == [1, 1]


def test_drive_throws_a_failed_log_creation_into_the_lifecycle(tmp_path: Path) -> None:
    scope = CancelScope()
    cancel = AttemptCancel(scope, None)

    def steps() -> Steps[str]:
        spec = _spec(tmp_path, "e", "true")
        (tmp_path / "e.log").mkdir()  # a directory in place of the log: refused at the start
        try:
            yield Spawn(spec, cancel, lambda pid, t, host=None: None)
        except OSError as exc:
            return f"caught {type(exc).__name__}"
        return "not raised"

    assert drive(steps()) == "caught IsADirectoryError"


class _RecordingGuard:
    """Stands in for the orphan guard: records each call and the state of the group then."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, bool, bool]] = []

    def expect(self, markers: object) -> None:
        pass

    def forget(self, markers: object) -> None:
        pass

    def add(self, pgid: int, markers: object = None, *, expected: bool = False) -> None:
        self.calls.append(("add", pgid, True, True))

    def flush_removals(self) -> None:
        pass

    def remove(self, pgid: int, *, defer: bool = False) -> None:
        try:
            os.waitid(os.P_PID, pgid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            leader_unreaped = True
        except ChildProcessError:
            leader_unreaped = False
        self.calls.append(("remove", pgid, leader_unreaped, group_alive(pgid)))


@pytest.fixture
def guard(monkeypatch: pytest.MonkeyPatch) -> _RecordingGuard:
    import wf.executor.reactor as reactor_module

    recording = _RecordingGuard()
    monkeypatch.setattr(reactor_module, "WATCHDOG", recording)
    return recording


def test_a_killed_group_leaves_the_guard_before_its_leader_is_reaped(
    tmp_path: Path, guard: _RecordingGuard
) -> None:
    # While the leader is unreaped its ID cannot name another process group, so a guard that
    # still held it could not kill a stranger. (A hard cancel: no TERM grace loop, which may
    # reap a leader that died of TERM before the group is checked.)
    scope = CancelScope()
    reactor = Reactor()
    try:
        attempt = reactor.start(_spec(tmp_path, "k", "sleep 30"), AttemptCancel(scope, None))
        scope.cancel("stop now", hard=True)
        reactor.sweep_soon()
        _run_all(reactor, [attempt])
    finally:
        reactor.close()
    result = _result(attempt)
    assert result.outcome is Outcome.CANCELLED
    assert [c[0] for c in guard.calls] == ["add", "remove"]
    _, pgid, leader_unreaped, alive = guard.calls[1]
    assert pgid == result.pid
    assert leader_unreaped
    assert not alive


def test_a_finished_group_leaves_the_guard_once_and_only_when_it_is_gone(
    tmp_path: Path, guard: _RecordingGuard
) -> None:
    quick = run_attempt(_spec(tmp_path, "q", "echo quick"))
    lingering = run_attempt(
        _spec(tmp_path, "l", "sleep 30 >/dev/null 2>&1 & echo bg", kill_grace=0.2)
    )
    assert quick.ok
    assert lingering.ok
    assert [c[:2] for c in guard.calls] == [
        ("add", quick.pid),
        ("remove", quick.pid),
        ("add", lingering.pid),
        ("remove", lingering.pid),
    ]
    assert not guard.calls[1][3]  # nothing of the quick group was left
    assert not guard.calls[3][3]  # the background sleep was killed before the removal


def test_a_retry_delay_beyond_the_thread_wait_limit_still_waits_and_wakes_on_cancel() -> None:
    import threading

    scope = CancelScope()
    timer = threading.Timer(0.1, scope.cancel, args=("stop",))
    timer.start()
    try:
        assert AttemptCancel(scope, None).wait(1e300) is True  # no OverflowError
    finally:
        timer.cancel()


def test_an_attempt_log_starts_empty_even_if_a_file_is_there(tmp_path: Path) -> None:
    # A run killed before an attempt was on record can leave its log behind; the resumed
    # attempt under the same number must not append to it.
    stale = tmp_path / "again.log"
    stale.write_text("output of a killed attempt\n")
    result = run_attempt(_spec(tmp_path, "again", "echo fresh"))
    assert result.ok
    assert stale.read_text() == "fresh\n"


def _is_zombie_or_gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return any(line.split()[1:2] == ["Z"] for line in status.splitlines() if line[:6] == "State:")


def test_an_attempt_that_ended_before_its_cancellation_keeps_its_own_outcome(
    tmp_path: Path,
) -> None:
    """Fail-fast can cancel an attempt whose shell has exited but is not yet reaped (its exit
    is still in the poll): that attempt succeeded, it was not cancelled."""
    scope = CancelScope()
    reactor = Reactor()
    try:
        attempt = reactor.start(
            _spec(tmp_path, "z", "echo done"), AttemptCancel(scope, None), tag="z"
        )
        assert attempt.proc is not None
        deadline = time.monotonic() + 20
        while not _is_zombie_or_gone(attempt.proc.pid):  # exited; nothing has reaped it yet
            assert time.monotonic() < deadline, "the shell never exited"
            time.sleep(0.01)
        scope.cancel("task x failed")
        _run_all(reactor, [attempt])
    finally:
        reactor.close()
    result = _result(attempt)
    assert result.outcome is not Outcome.CANCELLED
    assert result.ok
    assert result.stdout_tail == b"done\n"
