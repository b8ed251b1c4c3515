"""Orphan guard: a tiny shell process that kills live attempt groups if wf dies abruptly.

A SIGKILLed ``wf`` cannot clean up after itself, and a parent-death signal would only reach the
shell, not its background children. Instead, one watchdog per ``wf`` process reads ``+PGID`` and
``-PGID`` lines from a pipe; when the pipe reaches end-of-file (``wf`` is gone),
it SIGKILLs every process group still registered.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

_SCRIPT = r"""
set -f
pgs=" "
while IFS= read -r line; do
  case $line in
    +*) pgs="$pgs${line#+} " ;;
    -*) p=${line#-}
        case $pgs in *" $p "*) pgs="${pgs%% $p *} ${pgs#* $p }" ;; esac ;;
    =) exit 0 ;;
  esac
done
for p in $pgs; do kill -9 "-$p" 2>/dev/null; done
exit 0
"""


class Watchdog:
    """Registers attempt process groups with the watchdog process (started lazily)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid: int | None = None
        self._owner_pid = -1
        self._disabled = not sys.platform.startswith("linux") and sys.platform != "darwin"

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
                ["/bin/sh", "-c", _SCRIPT],
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
        threading.Thread(target=self._reap, args=(self._pid,), daemon=True).start()
        return write_fd

    @staticmethod
    def _reap(pid: int) -> None:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)

    def _send(self, line: str) -> None:
        with self._lock:
            fd = self._ensure()
            if fd is None:
                return
            try:
                os.write(fd, line.encode())
            except OSError:
                self._disabled = True

    def add(self, pgid: int) -> None:
        """Guard process group PGID until ``remove`` is called."""
        self._send(f"+{pgid}\n")

    def remove(self, pgid: int) -> None:
        """Stop guarding PGID (its attempt is over)."""
        self._send(f"-{pgid}\n")


WATCHDOG = Watchdog()
