"""Attempts: what starts one (spec), what came of it (result), and the log it writes."""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

STDOUT_TAIL_BYTES = 1024 * 1024


class CancelSignal(Protocol):
    """What an attempt needs to know about cancellation of its run."""

    def is_set(self) -> bool: ...

    @property
    def reason(self) -> str: ...

    @property
    def hard(self) -> bool: ...


class Outcome(enum.Enum):
    """How an attempt's process ended."""

    EXITED = "exited"
    SIGNALED = "signaled"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    START_FAILED = "start_failed"


@dataclass
class AttemptSpec:
    """Everything needed to start one attempt."""

    command: str
    env: Mapping[str, str]
    log_path: str | Path
    cwd: str | None = None
    timeout: float | None = None
    kill_grace: float = 5.0
    log_max_bytes: int = 64 * 1024 * 1024
    output_path: str | Path | None = None


@dataclass
class AttemptResult:
    """What happened to one attempt (exit code -1 when there is no exit status)."""

    outcome: Outcome
    exit_code: int
    error: str | None
    start: float
    end: float
    pid: int | None = None
    stdout_tail: bytes = b""
    output_truncated: int = 0
    signal: str | None = None

    @property
    def ok(self) -> bool:
        """True when the command exited 0."""
        return self.outcome is Outcome.EXITED and self.exit_code == 0


class LogSink:
    """Appends chunks to the attempt log, unbuffered, up to the cap; keeps the stdout tail."""

    def __init__(self, path: str | Path, cap: int) -> None:
        # Emptied first: a run killed before an attempt was on record may have left a log
        # under the same attempt number, which the resumed attempt must not add to.
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC
        self.fd = os.open(path, flags, 0o600)
        self.cap = cap
        self.written = 0
        self.discarded = 0
        self.tail = bytearray()
        #: The first failed log write (e.g. ENOSPC): from then on output is discarded, counted.
        self.write_error: OSError | None = None

    def write(self, chunk: bytes, *, is_stdout: bool) -> None:
        if is_stdout:
            self.tail += chunk
            if len(self.tail) > 2 * STDOUT_TAIL_BYTES:
                del self.tail[: len(self.tail) - STDOUT_TAIL_BYTES]
        if self.discarded or self.write_error is not None:
            self.discarded += len(chunk)
            return
        room = self.cap - self.written
        if len(chunk) <= room:
            done = self._write_all(chunk)
            self.written += done
            self.discarded += len(chunk) - done
            return
        if room > 0:
            done = self._write_all(chunk[:room])
            self.written += done
            self.discarded += room - done
        self.discarded += len(chunk) - max(room, 0)
        marker = (
            f"\n[wf] log limit of {self.cap} bytes reached; "
            "further output of this attempt is discarded\n"
        )
        if self.write_error is None:
            self._write_all(marker.encode())

    def _write_all(self, data: bytes) -> int:
        """Write DATA; fewer bytes are written only when the log cannot take more (full disk)."""
        view = memoryview(data)
        done = 0
        while view:
            try:
                n = os.write(self.fd, view)
            except OSError as exc:
                self.write_error = exc
                return done
            done += n
            view = view[n:]
        return done

    def close(self) -> bytes:
        os.close(self.fd)
        tail = bytes(self.tail[-STDOUT_TAIL_BYTES:])
        self.tail = bytearray()
        return tail


def create_private_file(path: str | Path, *, truncate: bool = False) -> None:
    """Create PATH with mode 0600 (an existing file is made 0600; emptied with TRUNCATE)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_TRUNC if truncate else 0)
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
