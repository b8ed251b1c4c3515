"""The orphan guard's pipe protocol: what is written when (wf.executor.watchdog)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from wf.executor.containment import Markers
from wf.executor.watchdog import Watchdog


@pytest.fixture
def guard() -> Iterator[tuple[Watchdog, int]]:
    """A watchdog whose lines go to a pipe the test reads (no guard process)."""
    read_fd, write_fd = os.pipe2(os.O_NONBLOCK)
    dog = Watchdog()
    dog._ensure = lambda: write_fd  # type: ignore[method-assign]
    yield dog, read_fd
    os.close(read_fd)
    os.close(write_fd)


def _written(fd: int) -> str:
    try:
        return os.read(fd, 65536).decode()
    except BlockingIOError:
        return ""


def _short(markers: Markers, pgid: int | None, name: str = "@1") -> str:
    """MARKERS' token with the run's short name."""
    pg, _, rest = markers.token(pgid).split(":", 2)
    return f"{pg}:{name}:{rest}"


def test_an_expected_group_is_named_with_the_next_write_and_removed_by_flush_removals(
    guard: tuple[Watchdog, int],
) -> None:
    dog, fd = guard
    first, second = Markers.of("run", "a", 1), Markers.of("run", "b", 1)
    run_hex = b"run".hex()
    dog.expect(first)
    # guarded before the shell starts; the run is named once, then by its short name
    assert _written(fd) == f"r1={run_hex}\n+{_short(first, None)}\n"
    dog.add(101, first, expected=True)
    assert _written(fd) == ""  # the markers already guard it: no write of its own
    dog.flush_removals()
    assert _written(fd) == ""  # nothing to remove yet
    dog.remove(101, defer=True)
    dog.expect(second)  # the next attempt's write carries everything queued, in order
    assert _written(fd) == (f"+101:::\n-101:::\n-{_short(first, None)}\n+{_short(second, None)}\n")
    dog.add(102, second, expected=True)
    dog.remove(102, defer=True)
    dog.flush_removals()  # a group that is gone leaves the guard without waiting for a spawn
    assert _written(fd) == f"+102:::\n-102:::\n-{_short(second, None)}\n"
    other = Markers.of("run2", "a", 1)
    dog.expect(other)
    assert _written(fd) == f"r2={b'run2'.hex()}\n+{_short(other, None, '@2')}\n"


def test_without_expect_or_defer_every_line_is_written_at_once(
    guard: tuple[Watchdog, int],
) -> None:
    dog, fd = guard
    markers = Markers.of("run", "a", 1)
    dog.add(7, markers)
    assert _written(fd) == f"r1={b'run'.hex()}\n+{_short(markers, 7)}\n"
    dog.remove(7)
    assert _written(fd) == f"-{_short(markers, 7)}\n"
    dog.add(8)  # no markers: the group is all the guard knows, so it is named at once
    assert _written(fd) == "+8:::\n"
    dog.remove(8, defer=True)
    dog.flush()
    assert _written(fd) == "-8:::\n"
