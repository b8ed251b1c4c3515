"""Process groups: spawn a shell in its own session, and the TERM/grace/KILL sequence.

See docs/executors.md#the-termination-sequence.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping

SHELL = "/bin/sh"
#: Signals the Python interpreter ignores for itself at start-up; a task gets them back at their
#: default, as ``subprocess`` does with ``restore_signals`` (else ``yes | head -1`` complains).
RESTORED_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGPIPE", "SIGXFZ", "SIGXFSZ") if hasattr(signal, name)
)
_HAS_POSIX_SPAWN_SETSID = sys.platform.startswith("linux") and hasattr(os, "posix_spawn")
#: Children this process started and reaps itself, not reaped yet (attempt shells and the orphan
#: guard, each in a session of its own; the log-directory helpers): containment tells them
#: apart from adopted orphans.
_STARTED: set[int] = set()


def started_children() -> set[int]:
    """The children we started and have not reaped (see ``_STARTED``)."""
    return _STARTED


def note_started(pid: int) -> None:
    """Record PID as a child we started (and reap ourselves)."""
    _STARTED.add(pid)


def note_reaped(pid: int) -> None:
    """PID, noted by ``note_started``, has been reaped."""
    _STARTED.discard(pid)


class Spawned:
    """A started shell: its pid (also its process-group id) and a way to reap it."""

    def __init__(self, pid: int, popen: subprocess.Popen[bytes] | None = None) -> None:
        self.pid = pid
        self._popen = popen
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """Reap without blocking; the raw wait status is decoded into ``returncode``."""
        if self.returncode is not None:
            return self.returncode
        if self._popen is not None:
            self.returncode = self._popen.poll()
        else:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -1
            else:
                if pid == 0:
                    return None
                self.returncode = os.waitstatus_to_exitcode(status)
        if self.returncode is not None:
            _STARTED.discard(self.pid)
        return self.returncode

    def wait(self) -> int:
        """Block until the shell has exited."""
        if self.returncode is not None:
            return self.returncode
        if self._popen is not None:
            self.returncode = self._popen.wait()
        else:
            try:
                _, status = os.waitpid(self.pid, 0)
                self.returncode = os.waitstatus_to_exitcode(status)
            except ChildProcessError:
                self.returncode = -1
        _STARTED.discard(self.pid)
        return self.returncode


def spawn_shell(
    command: str, env: Mapping[str, str], cwd: str | None, stdout_fd: int, stderr_fd: int
) -> Spawned:
    """Start ``/bin/sh -c COMMAND`` as the leader of a new session, stdin from /dev/null.

    ``os.posix_spawn`` (vfork + exec) is used where possible; it cannot change directory, so a
    task with a ``working_dir`` goes through ``subprocess`` instead.
    """
    argv = [SHELL, "-c", command]
    if _HAS_POSIX_SPAWN_SETSID and not cwd:
        file_actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, stdout_fd, 1),
            (os.POSIX_SPAWN_DUP2, stderr_fd, 2),
        ]
        pid = os.posix_spawn(
            SHELL,
            argv,
            dict(env),
            file_actions=file_actions,
            setsid=True,
            setsigdef=RESTORED_SIGNALS,
        )
        _STARTED.add(pid)
        return Spawned(pid)
    popen = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=stdout_fd,
        stderr=stderr_fd,
        env=dict(env),
        cwd=cwd or None,
        start_new_session=True,
        close_fds=True,
    )
    _STARTED.add(popen.pid)
    return Spawned(popen.pid, popen)


def group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is left in process group PGID.

    ``killpg(pgid, 0)`` also counts zombies, and orphaned zombies are reaped by PID 1 only when
    it gets round to it (in containers sometimes seconds later), so on Linux a positive answer
    is confirmed by looking for a member that is not a zombie.
    """
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if not _PROC_STAT:
        return True
    return _live_member_in_proc(pgid)


_PROC_STAT = sys.platform.startswith("linux") and os.path.isdir("/proc/self")


def _live_member_in_proc(pgid: int) -> bool:
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # Fields after the parenthesised command: state ppid pgrp ...
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


def signal_group(pgid: int, sig: int) -> None:
    """Send SIG to the group, ignoring a group that is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


#: Longest wait for SIGKILLed processes to die (a process stuck in an uninterruptible sleep
#: dies only when that ends; wf does not wait for it forever).
KILL_SETTLE = 5.0


def await_group_gone(pgid: int, limit: float) -> bool:
    """Wait up to LIMIT seconds for group PGID to have no live member; True if it has none."""
    deadline = time.monotonic() + limit
    pause = 0.0005
    while group_alive(pgid):
        now = time.monotonic()
        if now >= deadline:
            return False
        time.sleep(min(pause, deadline - now))
        pause = min(pause * 2, 0.01)
    return True


def terminate_group(
    pgid: int,
    grace: float,
    *,
    leader: Spawned | None = None,
    hard: bool = False,
    poll: float = 0.01,
    kill_now: object = None,
    on_gone: Callable[[], object] | None = None,
) -> None:
    """SIGTERM the group, wait up to GRACE for it to empty, then SIGKILL it and reap the leader.

    ``hard`` skips straight to SIGKILL. ``kill_now`` is an object with ``is_set()`` (e.g. a
    second Ctrl+C) that cuts the grace period short. ``on_gone`` runs as soon as no live member
    of the group is left (after a SIGKILL, once the kernel has delivered it, up to
    ``KILL_SETTLE``): before the leader is reaped when it was still unreaped then (its ID cannot
    be reused yet), else right after the grace loop reaped it.
    """
    if not hard:
        signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if leader is not None:
                leader.poll()
            if not group_alive(pgid):
                break
            if kill_now is not None and getattr(kill_now, "is_set", lambda: False)():
                break
            time.sleep(poll)
    if group_alive(pgid):
        signal_group(pgid, signal.SIGKILL)
        # SIGKILL is delivered asynchronously: the members die when the kernel next schedules
        # them. The group counts as gone (and a retry may start) only once none is left alive.
        await_group_gone(pgid, KILL_SETTLE)
    if on_gone is not None:
        on_gone()
    if leader is not None:
        leader.wait()


def signal_name(signum: int) -> str:
    """E.g. ``SIGKILL`` for 9."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"SIG{signum}"
