"""The orphan guard's register: what it holds when (wf.executor.watchdog)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest

from wf.executor.containment import Markers
from wf.executor.watchdog import Watchdog

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux guard")


@pytest.fixture
def dog() -> Iterator[Watchdog]:
    """A watchdog of this test's own (its guard process ends when the test closes its pipe)."""
    guard = Watchdog()
    yield guard
    for fd in (guard._pipe, guard._fd):
        if fd is not None:
            os.close(fd)
    if guard._pid is not None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(guard._pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.01)


def _reg(dog: Watchdog) -> set[str]:
    """The register's live lines (slots are reused, so their order means nothing)."""
    lines = dog.registered()
    assert len(lines) == len(set(lines))
    return set(lines)


def _short(markers: Markers, pgid: int | None, name: str = "@1") -> str:
    """MARKERS' token with the run's short name."""
    pg, _, rest = markers.token(pgid).split(":", 2)
    return f"{pg}:{name}:{rest}"


def test_an_expected_group_is_registered_with_its_markers_and_removed_with_them(
    dog: Watchdog,
) -> None:
    first, second = Markers.of("run", "a", 1), Markers.of("run", "b", 1)
    run_def = f"r1={b'run'.hex()}"
    dog.expect(first)
    # guarded before the shell starts; the run is named once, then by its short name
    assert _reg(dog) == {run_def, f"+{_short(first, None)}"}
    dog.add(101, first, expected=True)
    assert _reg(dog) == {run_def, f"+{_short(first, None)}", "+101:::"}
    dog.expect(second)
    dog.remove(101)  # the group and the markers it was added with leave together
    assert _reg(dog) == {run_def, f"+{_short(second, None)}"}
    dog.forget(second)  # its shell could not start
    assert _reg(dog) == {run_def}
    other = Markers.of("run2", "a", 1)
    dog.expect(other)
    assert _reg(dog) == {run_def, f"r2={b'run2'.hex()}", f"+{_short(other, None, '@2')}"}


def test_without_expect_a_group_is_registered_with_or_without_markers(dog: Watchdog) -> None:
    markers = Markers.of("run", "a", 1)
    dog.add(7, markers)
    assert _reg(dog) == {f"r1={b'run'.hex()}", f"+{_short(markers, 7)}"}
    dog.remove(7)
    dog.add(8)  # no markers: the group is all the guard knows
    assert _reg(dog) == {f"r1={b'run'.hex()}", "+8:::"}
    dog.remove(8)
    dog.remove(9)  # never added: nothing happens
    assert _reg(dog) == {f"r1={b'run'.hex()}"}


def test_the_register_stays_as_small_as_the_attempts_running_at_once(dog: Watchdog) -> None:
    # Slots are reused: a long run does not grow the register.
    for n in range(1, 2001):
        markers = Markers.of("run", f"task-{n % 7}", n)
        dog.expect(markers)
        dog.add(100_000 + n, markers, expected=True)
        if n > 2:
            dog.remove(100_000 + n - 2)  # two attempts in flight
    assert len(dog.registered()) == 1 + 2 * 2  # the run's name, two groups and their markers
    assert dog._end <= 16 * 128
    long_id = Markers.of("run", "t" * 3000, 1)  # a record longer than a page still fits
    dog.expect(long_id)
    assert f"+{_short(long_id, None)}" in _reg(dog)
    dog.forget(long_id)
    assert f"+{_short(long_id, None)}" not in _reg(dog)


_VICTIM = textwrap.dedent(
    """
    import os, signal, subprocess, sys
    from wf.executor.containment import Markers
    from wf.executor.watchdog import WATCHDOG
    env = dict(os.environ, WF_RUN_ID="r", WF_TASK_ID="loose", WF_ATTEMPT="1")
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    grouped = subprocess.Popen(["sleep", "60"], start_new_session=True, **quiet)
    WATCHDOG.add(grouped.pid)
    # Only its markers guard this one: a session of its own, never registered by group.
    marked = subprocess.Popen(["sleep", "61"], start_new_session=True, env=env, **quiet)
    WATCHDOG.expect(Markers.from_env(env))
    print(grouped.pid, marked.pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in (b"Z", b"X")


def test_the_guard_kills_registered_groups_and_marked_processes_when_wf_dies() -> None:
    victim = subprocess.run(
        [sys.executable, "-c", _VICTIM], capture_output=True, text=True, timeout=60
    )
    assert victim.returncode == -signal.SIGKILL, victim.stderr
    pids = [int(p) for p in victim.stdout.split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    left = [pid for pid in pids if _alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, "the guard left these alive"
