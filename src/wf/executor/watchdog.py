"""Orphan guard: a tiny shell process that kills live attempts' processes if wf dies abruptly.

A SIGKILLed ``wf`` cannot clean up after itself, and a parent-death signal would only reach the
shell, not its background children. Instead, one guard per ``wf`` process waits for end-of-file
on a pipe that only ``wf`` holds open (nothing is ever written to it). ``wf`` keeps what is to
be killed in a *register* that the guard inherits as file descriptor 3 (a ``memfd`` on Linux,
an unlinked temporary file elsewhere) and reads only once ``wf`` is gone: one line per
registration, ``+PGID:RUN:TASK:ATTEMPT`` (values in hex; a run as ``@K``, named once by an
``rK=RUN`` line; ``x`` for a group not started yet), each in a slot of its own that is blanked
when the registration ends. Registering is one ``pwrite`` into memory that wakes nobody, and
the register stays as small as the number of attempts running at once. When the pipe reaches
end-of-file the guard SIGKILLs every registered process group, then (with the Python that ran
``wf``, started only then) every process in those groups' sessions, carrying a registered
attempt's ``WF_RUN_ID``/``WF_TASK_ID``/``WF_ATTEMPT``, or below one of those (containment,
``executor/containment.py``), round after round until none is left.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

from wf.executor.containment import Markers, value_hex
from wf.executor.procgroup import note_reaped, note_started

_SCRIPT = r"""
set -f
IFS= read -r line
found=
while IFS= read -r line; do
  case $line in
    +x:*) found=1 ;;
    +*) found=1; g=${line#+}; kill -9 "-${g%%:*}" 2>/dev/null ;;
  esac
done <&3
[ -n "$found" ] && [ -x "$1" ] && exec "$1" -I -S -c "$2"
exit 0
"""

#: Run by the watchdog once wf is gone: kill every process of the registered attempts.
_KILL_MARKED = r"""
import os, time
data = b""
while True:
    chunk = os.pread(3, 65536, len(data))
    if not chunk:
        break
    data += chunk
runs, tokens = {}, []
for line in data.decode("ascii", "replace").split("\n"):
    line = line.strip()
    if line[:1] == "r" and "=" in line:
        runs[line[1:].split("=", 1)[0]] = line.split("=", 1)[1]
    elif line[:1] == "+" and line.count(":") == 3:
        tokens.append(line[1:])
marks = []
for arg in tokens:
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


#: Smallest slot in the register (a power of two: a slot never straddles a page, so one
#: ``pwrite`` puts a whole record in place).
_SLOT = 64
_PAGE = 4096


def _slot_size(length: int) -> int:
    size = _SLOT
    while size < length and size < _PAGE:
        size *= 2
    return size if size >= length else -(-length // _PAGE) * _PAGE


def _open_register() -> int:
    """An anonymous file for the register (close-on-exec; the guard gets it by ``dup2``)."""
    if hasattr(os, "memfd_create"):
        return os.memfd_create("wf-guard")
    import tempfile  # here: with shutil and random, ≈3 ms of every start-up on Linux

    fd, path = tempfile.mkstemp(prefix="wf-guard-")
    os.unlink(path)
    return fd


class Watchdog:
    """Registers attempt process groups with the guard process (started lazily)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fd: int | None = None  # the register
        self._pipe: int | None = None  # the guard's stdin: its end-of-file means wf is gone
        self._pid: int | None = None
        self._owner_pid = -1
        self._disabled = not sys.platform.startswith("linux") and sys.platform != "darwin"
        self._end = 0  # the register's length
        self._free: dict[int, list[int]] = {}  # slot size -> blank slots
        self._groups: dict[int, list[tuple[int, int]]] = {}  # guarded group -> its slots
        self._expected: dict[Markers, tuple[int, int]] = {}  # expect()ed markers -> slot
        self._runs: dict[bytes, str] = {}  # a run's WF_RUN_ID needle -> its short name ``@K``

    def _ensure(self) -> int | None:
        if self._disabled:
            return None
        if self._fd is not None and self._owner_pid == os.getpid():
            return self._fd
        # A forked process gets a guard and a register of its own (the parent's stay its own).
        self._end, self._free, self._groups, self._expected, self._runs = 0, {}, {}, {}, {}
        try:
            register = _open_register()
        except OSError:
            self._disabled = True
            return None
        read_fd, write_fd = os.pipe()
        try:
            file_actions = [
                (os.POSIX_SPAWN_DUP2, read_fd, 0),
                (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_DUP2, register, 3),
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
            os.close(register)
            self._disabled = True
            return None
        finally:
            os.close(read_fd)
        self._fd, self._pipe = register, write_fd
        self._owner_pid = os.getpid()
        note_started(self._pid)
        threading.Thread(target=self._reap, args=(self._pid,), daemon=True).start()
        return register

    @staticmethod
    def _reap(pid: int) -> None:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        note_reaped(pid)

    def _put(self, line: str) -> tuple[int, int] | None:
        """Write LINE into a free slot; the slot (offset, size), or None without a guard."""
        fd = self._ensure()
        if fd is None:
            return None
        data = line.encode()
        size = _slot_size(len(data) + 1)
        free = self._free.get(size)
        if free:
            offset = free.pop()
            gap = b""
        else:
            offset = -(-self._end // size) * size if size <= _PAGE else self._end
            gap = _blank(offset - self._end)
        record = data + _blank(size - len(data))
        try:
            if gap:
                os.pwrite(fd, gap, self._end)
            os.pwrite(fd, record, offset)
        except OSError:
            self._disabled = True
            return None
        self._end = max(self._end, offset + size)
        return offset, size

    def _blank(self, slot: tuple[int, int] | None) -> None:
        if slot is None or self._fd is None or self._owner_pid != os.getpid():
            return
        offset, size = slot
        try:
            os.pwrite(self._fd, _blank(size), offset)
        except OSError:
            self._disabled = True
            return
        self._free.setdefault(size, []).append(offset)

    def _token(self, markers: Markers, pgid: int | None) -> str:
        """``Markers.token`` with the run's short name (defined in the register the first time)."""
        if self._owner_pid not in (-1, os.getpid()):
            self._ensure()  # a forked process: a new register, without names
        name = self._runs.get(markers.run_id)
        if name is None:
            name = f"@{len(self._runs) + 1}"
            if self._put(f"r{name[1:]}={value_hex(markers.run_id)}") is not None:
                self._runs[markers.run_id] = name
        return markers.token(pgid, name)

    def expect(self, markers: Markers | None) -> None:
        """Guard the processes carrying MARKERS from now on (before the attempt's shell starts,
        so that no moment is left unguarded); ``add`` then names its group."""
        if markers is not None:
            with self._lock:
                slot = self._put(f"+{self._token(markers, None)}")
                if slot is not None:
                    self._expected[markers] = slot

    def forget(self, markers: Markers | None) -> None:
        """Undo ``expect`` (the shell could not start)."""
        if markers is not None:
            with self._lock:
                self._blank(self._expected.pop(markers, None))

    def add(self, pgid: int, markers: Markers | None = None, *, expected: bool = False) -> None:
        """Guard process group PGID (and the processes carrying MARKERS) until ``remove``.

        With EXPECTED (``expect(markers)`` was called before the shell started, so its
        processes are already guarded by their markers) the group gets a slot of its own (the
        guard uses a record's group and markers independently).
        """
        with self._lock:
            if markers is None or expected:
                slot = self._put(f"+{pgid}:::")
            else:
                slot = self._put(f"+{self._token(markers, pgid)}")
            slots = self._groups.get(pgid)
            if slots is None:
                slots = self._groups[pgid] = []
            if slot is not None:
                slots.append(slot)
            if expected and markers is not None:
                slot = self._expected.pop(markers, None)
                if slot is not None:
                    slots.append(slot)

    def remove(self, pgid: int) -> None:
        """Stop guarding PGID and the markers it was added with (its attempt is over)."""
        with self._lock:
            for slot in self._groups.pop(pgid, ()):
                self._blank(slot)

    def registered(self) -> list[str]:
        """The register's live lines, as the guard would read them now (for tests)."""
        with self._lock:
            if self._fd is None:
                return []
            data = os.pread(self._fd, self._end, 0)
        lines = (line.strip() for line in data.decode().split("\n"))
        return [line for line in lines if line]


def _blank(size: int) -> bytes:
    """SIZE bytes that read as one empty line (nothing for 0)."""
    return b" " * (size - 1) + b"\n" if size > 0 else b""


WATCHDOG = Watchdog()
