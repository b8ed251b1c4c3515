"""Containment: find every process an attempt started, whatever group or session it moved to.

A task's processes normally stay in the attempt's process group, which the reactor signals as
a whole. A process can leave it (``timeout`` puts its command in a group of its own,
``setsid`` starts a session, a double fork or ``nohup … &`` orphans it), so an attempt's
processes are found as CI servers find a build's: by parentage and by the attempt's
``WF_RUN_ID`` / ``WF_TASK_ID`` / ``WF_ATTEMPT`` environment (read from ``/proc/PID/environ``,
which keeps the environment a program was started with). A process started with any of the
three changed, outside the attempt's group and session, and no longer below a live member
(``setsid -f``), is not the attempt's: that is the documented way to start a long-lived
service from a task (docs/reliability.md).

On Linux, ``wf`` makes itself a child subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``), so an
orphaned descendant is re-parented to ``wf`` instead of ``init``: when an attempt's shell
exits, whatever it left behind is among ``wf``'s own children (one read of
``/proc/self/task/<pid>/children``), and the expensive ``/proc`` scan runs only when something
of the attempt is actually left. ``wf`` reaps the orphans it adopts once they are dead.

The functions take plain values, so that any attempt runner can use them where the attempt's
processes run: ``kill_attempt_tree(pid, run_id, task_id, attempt)``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from wf.executor import procgroup

_PR_SET_CHILD_SUBREAPER = 36
_LINUX = sys.platform.startswith("linux") and os.path.isdir("/proc/self")
#: Longest wait for killed processes to die (a process in an uninterruptible sleep dies only
#: when that ends; wf does not wait for it forever).
KILL_SETTLE = procgroup.KILL_SETTLE
_RESCAN = 0.1  # seconds between full scans while waiting for an attempt's processes to end
_MAX_KILL_ROUNDS = 50  # a process that forks while being killed is caught in a later round


class _State:
    """Process-wide: whether we are a subreaper (None: not tried yet), and ``claim_process``."""

    lock = threading.Lock()
    subreaper: bool | None = None
    exclusive = False


class Markers(NamedTuple):
    """An attempt's identity in its processes' environment, as ``\\0KEY=VALUE\\0`` needles."""

    run_id: bytes
    task_id: bytes
    attempt: bytes

    @classmethod
    def of(cls, run_id: str, task_id: str, attempt: int | str) -> Markers:
        fsencode = os.fsencode  # each needle: b"\0KEY=" + the value as the kernel has it + b"\0"
        return cls(
            b"\0WF_RUN_ID=" + fsencode(run_id) + b"\0",
            b"\0WF_TASK_ID=" + fsencode(task_id) + b"\0",
            b"\0WF_ATTEMPT=" + fsencode(str(attempt)) + b"\0",
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Markers | None:
        """The markers of an attempt's environment (None when it has none, e.g. a hook)."""
        try:
            return cls.of(env["WF_RUN_ID"], env["WF_TASK_ID"], env["WF_ATTEMPT"])
        except (KeyError, UnicodeError):
            return None

    def found_in(self, environ: bytes) -> bool:
        """Whether ENVIRON (a ``/proc/PID/environ`` read, prefixed with ``\\0``) has all three."""
        return self.run_id in environ and self.task_id in environ and self.attempt in environ

    def token(self, pgid: int | None, run: str | None = None) -> str:
        """``PGID:RUN:TASK:ATTEMPT`` (values in hex; ``x`` for a group not started yet) for the
        orphan guard's register; RUN, when given, stands for the run's ID (its short name)."""
        group = str(pgid) if pgid is not None else "x"
        run = value_hex(self.run_id) if run is None else run
        return f"{group}:{run}:{value_hex(self.task_id)}:{value_hex(self.attempt)}"


def value_hex(needle: bytes) -> str:
    """The value of a ``\\0KEY=VALUE\\0`` needle, in hex."""
    return needle[1:-1].split(b"=", 1)[1].hex()


class Proc(NamedTuple):
    """One line of ``/proc/PID/stat``: what containment needs of it."""

    pid: int
    state: bytes
    ppid: int
    pgrp: int
    sid: int

    @property
    def alive(self) -> bool:
        return self.state not in (b"Z", b"X")


# -- the subreaper ---------------------------------------------------------------------------
def become_subreaper() -> bool:
    """Make this process a child subreaper (Linux); True if it is one. Done once per process."""
    done = _State.subreaper
    if done is not None:
        return done
    with _State.lock:
        if _State.subreaper is None:
            _State.subreaper = _set_subreaper()
        return _State.subreaper


def _set_subreaper() -> bool:
    if not _LINUX:
        return False
    import ctypes

    try:
        # The symbols already loaded into this process, libc's among them: no library search
        # (``ctypes.util.find_library`` runs ``ldconfig -p`` in a child process).
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def claim_process() -> None:
    """Declare that this process is ``wf`` itself (the CLI), not a program embedding it.

    Then every child in a session of its own that ``wf`` did not start is an adopted orphan
    and is reaped once dead. Embedded, such a child may be the host's own, and only orphans
    that provably came from elsewhere are reaped.
    """
    _State.exclusive = True


# -- reading /proc ---------------------------------------------------------------------------
def _read_file(path: str) -> bytes:
    """PATH's whole content: open, read to the end, close (``open(path, "rb").read()`` also
    asks for the file's size, position and terminal state: twice the system calls, and one
    exit of every attempt reads a /proc file)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_proc(pid: int) -> Proc | None:
    """PID's stat line, or None if it is gone."""
    try:
        stat = _read_file(f"/proc/{pid}/stat")
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    try:
        return Proc(pid, fields[0], int(fields[1]), int(fields[2]), int(fields[3]))
    except (IndexError, ValueError):
        return None


def read_environ(pid: int) -> bytes | None:
    """PID's start-up environment as ``\\0KEY=VALUE\\0…``, or None if it cannot be read."""
    try:
        return b"\0" + _read_file(f"/proc/{pid}/environ")
    except OSError:
        return None


def scan() -> dict[int, Proc]:
    """Every process of the system."""
    table: dict[int, Proc] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return table
    for name in names:
        if name.isdigit():
            proc = read_proc(int(name))
            if proc is not None:
                table[proc.pid] = proc
    return table


def own_children() -> list[int]:
    """This process's children, adopted orphans included (zombies too)."""
    pid = os.getpid()
    try:
        return [int(p) for p in _read_file(f"/proc/{pid}/task/{pid}/children").split()]
    except OSError:
        return []


# -- finding an attempt's processes ----------------------------------------------------------
def attempt_members(
    root: int, markers: Markers | None, table: Mapping[int, Proc] | None = None
) -> set[int]:
    """The live processes of the attempt whose shell is ROOT (also its group and session ID).

    Seeds: every process in ROOT's group or session (ROOT too while it is unreaped), and every
    process whose environment carries MARKERS; then every descendant of a seed. This process and its
    threads are never members.
    """
    if table is None:
        table = scan()
    me = os.getpid()
    seeds: set[int] = set()
    for proc in table.values():
        if proc.pid == me or proc.ppid == 2 or proc.pid <= 2:
            continue  # wf itself, init, kernel threads
        if root > 1 and root in (proc.pgrp, proc.sid):
            seeds.add(proc.pid)
        elif markers is not None and proc.alive:
            environ = read_environ(proc.pid)
            if environ is not None and markers.found_in(environ):
                seeds.add(proc.pid)
    children: dict[int, list[int]] = {}
    for proc in table.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    members: set[int] = set()
    todo = list(seeds)
    while todo:
        pid = todo.pop()
        if pid in members or pid == me:
            continue
        members.add(pid)
        todo.extend(children.get(pid, ()))
    return {pid for pid in members if table[pid].alive}


def strays_left(env: Mapping[str, str]) -> bool:
    """After an attempt's shell exited: whether an orphan it left is still alive (cheap).

    With the subreaper, a process that the shell left behind outside its group is one of our
    own children, so only those (usually none) are looked at. Adopted orphans that are dead
    are reaped on the way. Without the subreaper every process must be looked at.
    """
    if not _LINUX:
        return False
    if not become_subreaper():
        markers = Markers.from_env(env)
        return markers is not None and bool(attempt_members(-1, markers))
    found = False
    markers = None
    started = procgroup.started_children()
    for pid in own_children():
        if pid in started:
            continue
        proc = read_proc(pid)
        if proc is None:
            continue
        if not proc.alive:
            _reap_if_adopted(proc)
            continue
        if not found:
            markers = markers or Markers.from_env(env)
            environ = read_environ(pid) if markers is not None else None
            found = markers is not None and environ is not None and markers.found_in(environ)
    return found


def _adopted(proc: Proc) -> bool:
    """Whether PROC, one of our children, is an orphan we adopted (not one we started)."""
    if proc.pid in procgroup.started_children():
        return False
    if proc.sid not in (proc.pid, _own_sid()):
        return True  # a member of another session that does not lead it: not started by us
    return _State.exclusive and proc.sid == proc.pid


def _own_sid() -> int:
    try:
        return os.getsid(0)
    except OSError:
        return -1


def _reap_if_adopted(proc: Proc) -> None:
    if _adopted(proc):
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(proc.pid, os.WNOHANG)


def reap_members(pids: Iterable[int]) -> int:
    """Reap those of PIDS (processes found as an attempt's) that are our dead children, except
    the shells we started (their owners reap them); the number reaped."""
    if not _LINUX:
        return 0
    reaped, me, started = 0, os.getpid(), procgroup.started_children()
    for pid in pids:
        if pid in started:
            continue
        proc = read_proc(pid)
        if proc is not None and not proc.alive and proc.ppid == me:
            with contextlib.suppress(ChildProcessError, OSError):
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    reaped += 1
    return reaped


# -- ending an attempt -----------------------------------------------------------------------
def _signal_all(pgid: int, members: Iterable[int], sig: int) -> None:
    if pgid > 1:
        procgroup.signal_group(pgid, sig)
    for pid in members:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _any_alive(pgid: int, members: Iterable[int]) -> bool:
    if pgid > 1 and procgroup.group_alive(pgid):
        return True
    for pid in members:
        proc = read_proc(pid)
        if proc is not None and proc.alive:
            return True
    return False


def terminate_attempt(
    pgid: int,
    grace: float,
    *,
    markers: Markers | None,
    leader: procgroup.Spawned | None = None,
    hard: bool = False,
    poll: float = 0.01,
    kill_now: object = None,
    on_gone: Callable[[], object] | None = None,
) -> None:
    """The termination sequence for every process of an attempt (group PGID and the rest).

    SIGTERM to all of them, wait up to GRACE for all to end (``kill_now.is_set()`` cuts it
    short), SIGKILL what is left, round after round until a scan finds nothing alive, reap the
    orphans among them that we adopted, then ``on_gone`` and the leader's reaping (as
    ``procgroup.terminate_group`` does).
    """
    if not _LINUX:
        procgroup.terminate_group(
            pgid, grace, leader=leader, hard=hard, poll=poll, kill_now=kill_now, on_gone=on_gone
        )
        return
    become_subreaper()
    owner = pgid  # the ID below, or -1 once the group is gone for good (its ID may be reused)

    def group_gone() -> bool:
        return leader is not None and leader.returncode is not None and not _any_alive(owner, ())

    if group_gone():
        owner = -1
    members = attempt_members(owner, markers)
    seen = set(members)
    if not hard:
        _signal_all(owner, members, signal.SIGTERM)
        deadline = time.monotonic() + grace
        next_scan = time.monotonic() + _RESCAN
        while time.monotonic() < deadline:
            if leader is not None and leader.returncode is None:
                leader.poll()
                if group_gone():
                    owner = -1
            if kill_now is not None and getattr(kill_now, "is_set", lambda: False)():
                break
            if time.monotonic() >= next_scan:
                fresh = attempt_members(owner, markers) - members
                _signal_all(owner, fresh, signal.SIGTERM)  # started since: TERM them too
                members |= fresh
                seen |= fresh
                next_scan = time.monotonic() + _RESCAN
            if not _any_alive(owner, members):
                break
            time.sleep(poll)
    kill_deadline = time.monotonic() + KILL_SETTLE
    for _ in range(_MAX_KILL_ROUNDS):
        members = attempt_members(owner, markers)
        seen |= members
        if not members and not _any_alive(owner, ()):
            break
        _signal_all(owner, members, signal.SIGKILL)
        _await_dead(owner, members, kill_deadline)
        if time.monotonic() >= kill_deadline:
            break
    if on_gone is not None:
        on_gone()
    reap_members(seen)
    if leader is not None:
        leader.wait()


def _await_dead(pgid: int, members: set[int], deadline: float) -> None:
    pause = 0.0005
    while _any_alive(pgid, members):
        now = time.monotonic()
        if now >= deadline:
            return
        time.sleep(min(pause, deadline - now))
        pause = min(pause * 2, 0.01)


def kill_attempt_tree(
    pid: int,
    run_id: str,
    task_id: str,
    attempt: int | str,
    *,
    grace: float = 0.0,
    kill_now: object = None,
) -> None:
    """End every process of an attempt: the one whose shell is PID (also its group and session
    ID), and every process carrying its ``WF_RUN_ID``/``WF_TASK_ID``/``WF_ATTEMPT``.

    With GRACE > 0, SIGTERM first and wait up to GRACE; then SIGKILL whatever is left. Returns
    once nothing of the attempt is alive (or ``KILL_SETTLE`` passed). The shell itself is not
    reaped (its parent does that).
    """
    terminate_attempt(
        pid,
        grace,
        markers=Markers.of(run_id, task_id, attempt),
        hard=grace <= 0,
        kill_now=kill_now,
    )
