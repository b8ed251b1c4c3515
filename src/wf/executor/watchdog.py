"""Orphan guard: a tiny shell process that kills live attempts' processes if wf dies abruptly.

A SIGKILLed ``wf`` cannot clean up after itself, and a parent-death signal would only reach the
shell, not its background children. Instead, one watchdog per ``wf`` process reads
``+PGID:RUN:TASK:ATTEMPT`` and ``-PGID:RUN:TASK:ATTEMPT`` lines from a pipe (values in hex; a
run as ``@K``, defined once by an ``rK=RUN`` line: the shell reads a pipe one byte per system
call, so every byte counts); when the pipe reaches end-of-file
(``wf`` is gone), it SIGKILLs every process group still registered, then (with the Python that
ran ``wf``, started only then) every process in those groups' sessions, carrying a registered
attempt's ``WF_RUN_ID``/``WF_TASK_ID``/``WF_ATTEMPT``, or below one of those (containment,
``executor/containment.py``), round after round until none is left.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

from wf.executor.containment import Markers
from wf.executor.procgroup import note_reaped, note_started

_SCRIPT = r"""
set -f
py=$1
marks=" "
runs=""
while IFS= read -r line; do
  case $line in
    r*) runs="$runs ${line#r}" ;;
    +*) marks="$marks${line#+} " ;;
    -*) t=${line#-}
        case $marks in *" $t "*) marks="${marks%% $t *} ${marks#* $t }" ;; esac ;;
    =) exit 0 ;;
  esac
done
for m in $marks; do kill -9 "-${m%%:*}" 2>/dev/null; done
[ "$marks" != " " ] && [ -x "$py" ] && exec "$py" -I -S -c "$2" "$runs" $marks
exit 0
"""

#: Run by the watchdog once wf is gone: kill every process of the registered attempts.
_KILL_MARKED = r"""
import os, sys, time
runs = dict(pair.split("=", 1) for pair in sys.argv[1].split())
marks = []
for arg in sys.argv[2:]:
    pg, run, task, n = arg.split(":")
    run = runs.get(run[1:], "") if run.startswith("@") else run
    pg = int(pg) if pg.isdigit() else 0
    keys = (b"WF_RUN_ID", b"WF_TASK_ID", b"WF_ATTEMPT")
    vals = (bytes.fromhex(run), bytes.fromhex(task), bytes.fromhex(n))
    marks.append((pg, [b"\0" + k + b"=" + v + b"\0" for k, v in zip(keys, vals)]))
me = os.getpid()
for _ in range(50):
    procs = {}
    for name in os.listdir("/proc"):
        try:
            with open("/proc/%s/stat" % name, "rb") as fh:
                stat = fh.read()
            f = stat[stat.rfind(b")") + 2:].split()
            procs[int(name)] = (f[0], int(f[1]), int(f[2]), int(f[3]))
        except (OSError, ValueError, IndexError):
            pass
    seeds = []
    for pid, (state, ppid, pgrp, sid) in procs.items():
        if pid == me or state in (b"Z", b"X"):
            continue
        if pid <= 2 or ppid == 2:
            continue
        if any(pg > 1 and pg in (pgrp, sid) for pg, _ in marks):
            seeds.append(pid)
            continue
        try:
            with open("/proc/%d/environ" % pid, "rb") as fh:
                env = b"\0" + fh.read()
        except OSError:
            continue
        if any(all(n in env for n in needles) for _, needles in marks if needles[0][11:-1]):
            seeds.append(pid)
    kids = {}
    for pid, (_, ppid, _, _) in procs.items():
        kids.setdefault(ppid, []).append(pid)
    live = set()
    while seeds:
        pid = seeds.pop()
        if pid not in live and pid != me:
            live.add(pid)
            seeds.extend(kids.get(pid, ()))
    live = [p for p in live if procs[p][0] not in (b"Z", b"X")]
    if not live:
        break
    for pid in live:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    time.sleep(0.02)
"""


class Watchdog:
    """Registers attempt process groups with the watchdog process (started lazily)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid: int | None = None
        self._owner_pid = -1
        self._disabled = not sys.platform.startswith("linux") and sys.platform != "darwin"
        self._tokens: dict[int, str] = {}  # guarded group -> its removal line(s)
        self._runs: dict[bytes, str] = {}  # a run's WF_RUN_ID needle -> its short name ``@K``
        # Lines not yet written (see ``add`` and ``remove``), and whether one is a removal.
        self._pending: list[str] = []
        self._removal_pending = False

    def _ensure(self) -> int | None:
        if self._disabled:
            return None
        if self._fd is not None and self._owner_pid == os.getpid():
            return self._fd
        read_fd, write_fd = os.pipe()
        try:
            file_actions = [
                (os.POSIX_SPAWN_DUP2, read_fd, 0),
                (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
            ]
            self._pid = os.posix_spawn(
                "/bin/sh",
                ["/bin/sh", "-c", _SCRIPT, "wf-guard", sys.executable or "", _KILL_MARKED],
                {"PATH": "/usr/bin:/bin"},
                file_actions=file_actions,
                setsid=True,
            )
        except OSError:
            os.close(write_fd)
            self._disabled = True
            return None
        finally:
            os.close(read_fd)
        self._fd = write_fd
        self._owner_pid = os.getpid()
        note_started(self._pid)
        threading.Thread(target=self._reap, args=(self._pid,), daemon=True).start()
        return write_fd

    @staticmethod
    def _reap(pid: int) -> None:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        note_reaped(pid)

    def _send(self, line: str, *, defer: bool = False, removal: bool = False) -> None:
        """Write LINE, with every deferred line before it; with DEFER only queue it."""
        with self._lock:
            self._pending.append(line)
            if defer:
                self._removal_pending = self._removal_pending or removal
                return
            self._write_pending()

    def _write_pending(self) -> None:
        lines, self._pending = self._pending, []
        self._removal_pending = False
        fd = self._ensure()
        if fd is None:
            return
        try:
            os.write(fd, "".join(lines).encode())
        except OSError:
            self._disabled = True

    def flush(self) -> None:
        """Write the deferred lines now."""
        with self._lock:
            if self._pending:
                self._write_pending()

    def flush_removals(self) -> None:
        """Write the deferred lines if one of them is a removal (a group that is gone must
        leave the guard soon: its ID may come to name another process group). Deferred
        ``add`` lines alone can wait: the group's processes are guarded by their markers."""
        if self._removal_pending:
            self.flush()

    def _token(self, markers: Markers, pgid: int | None) -> str:
        """``Markers.token`` with the run's short name (its definition queued the first time)."""
        pg, run, rest = markers.token(pgid).split(":", 2)
        with self._lock:
            if self._owner_pid not in (-1, os.getpid()):
                self._runs.clear()  # a forked process gets a guard of its own, without names
            name = self._runs.get(markers.run_id)
            if name is None:
                name = self._runs[markers.run_id] = f"@{len(self._runs) + 1}"
                self._pending.append(f"r{name[1:]}={run}\n")
        return f"{pg}:{name}:{rest}"

    def expect(self, markers: Markers | None) -> None:
        """Guard the processes carrying MARKERS from now on (before the attempt's shell starts,
        so that no moment is left unguarded); ``add`` then names its group."""
        if markers is not None:
            self._send(f"+{self._token(markers, None)}\n")

    def forget(self, markers: Markers | None) -> None:
        """Undo ``expect`` (the shell could not start)."""
        if markers is not None:
            self._send(f"-{self._token(markers, None)}\n")

    def add(self, pgid: int, markers: Markers | None = None, *, expected: bool = False) -> None:
        """Guard process group PGID (and the processes carrying MARKERS) until ``remove``.

        With EXPECTED (``expect(markers)`` was called before the shell started, so its
        processes are already guarded by their markers) only the group is added, as a token of
        its own (the guard uses a token's group and markers independently), and the line waits
        for the next write: one pipe write per attempt instead of three (each wakes the guard).
        """
        if markers is None:
            self._send(f"+{pgid}:::\n")
            self._tokens[pgid] = f"-{pgid}:::\n"
        elif expected:
            self._send(f"+{pgid}:::\n", defer=True)
            self._tokens[pgid] = f"-{pgid}:::\n-{self._token(markers, None)}\n"
        else:
            token = self._token(markers, pgid)
            self._send(f"+{token}\n")
            self._tokens[pgid] = f"-{token}\n"

    def remove(self, pgid: int, *, defer: bool = False) -> None:
        """Stop guarding PGID (its attempt is over). With DEFER the lines wait for the next
        write or ``flush_removals``, which the caller promises soon."""
        self._send(self._tokens.pop(pgid, f"-{pgid}:::\n"), defer=defer, removal=True)


WATCHDOG = Watchdog()
