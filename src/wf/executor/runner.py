"""Attempts: what starts one (spec), what came of it (result), the log it writes, and the
``AttemptRunner`` seam that decides where it runs (docs/architecture.md, "Attempt runners")."""

from __future__ import annotations

import enum
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from wf.files import open_regular
from wf.secrets import Masker

STDOUT_TAIL_BYTES = 1024 * 1024
#: Bytes of the log's beginning an attempt result keeps (``task_output`` events, trap output).
LOG_HEAD_BYTES = 65536
#: Bytes of the log's end an attempt result keeps (the last lines become ``stack_trace``).
LOG_TAIL_BYTES = 65536


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
    #: Secret values to mask as ``***`` in the log (docs/secrets.md).
    secrets: tuple[str, ...] = ()


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
    #: Where it ran: None on this machine, else the runner's name for the host (a worker address).
    host: str | None = None
    #: The WF_OUTPUT file's content (at most ``WF_OUTPUT_MAX_BYTES`` + 1 bytes), None without one.
    output: bytes | None = None
    #: Why the WF_OUTPUT file could not be read (it then fails the attempt), or None.
    output_error: str | None = None
    #: The first ``LOG_HEAD_BYTES`` + 1 bytes written to the log (one more tells it went on).
    log_head: bytes = b""
    #: The last ``LOG_TAIL_BYTES`` written to the log, the cap's marker line included.
    log_tail: bytes = b""

    @property
    def ok(self) -> bool:
        """True when the command exited 0."""
        return self.outcome is Outcome.EXITED and self.exit_code == 0


class OnStart(Protocol):
    """Called once an attempt's process has started: its PID, start time and host."""

    def __call__(self, pid: int, start: float, host: str | None = None) -> None: ...


class AttemptHandle(Protocol):
    """One started attempt: the engine's TAG, and its result once it is over."""

    @property
    def tag(self) -> object: ...

    @property
    def result(self) -> AttemptResult | None: ...


class RunnerSession(Protocol):
    """A runner opened for one run; used from the engine's thread only.

    ``start`` never blocks on the attempt; ``wait`` blocks up to TIMEOUT seconds and returns
    the handles whose attempts are now over. ``fatal`` is set when the runner itself is gone
    (e.g. a lost Dask scheduler): its in-flight attempts have failed and nothing more can run.
    """

    #: Attempts the runner can hold at once (the cluster's threads), or None for no opinion.
    capacity: int | None
    fatal: str | None

    def start(
        self,
        spec: AttemptSpec,
        cancel: CancelSignal | None,
        *,
        on_start: OnStart | None = None,
        tag: object = None,
    ) -> AttemptHandle:
        """Start SPEC; a command that cannot start gives a handle already over.

        ``OSError`` from a file already at the log path propagates (nothing keeps running).
        """
        ...

    def wait(self, timeout: float) -> Sequence[AttemptHandle]: ...

    def wake(self) -> None:
        """Check every attempt's cancellation at the next ``wait``."""
        ...

    def close(self) -> None: ...


class AttemptRunner(Protocol):
    """Where attempts run (this machine, a Dask cluster, …): opens one session per run.

    ``open`` raises a ``WfError`` when the runner cannot be reached; it is called before any
    run row exists. ``describe`` is what the run's ``run_started`` audit records about it.
    """

    name: str

    def open(self) -> RunnerSession: ...

    def describe(self) -> dict[str, object]: ...


#: How an attempt log is opened: emptied, appended to (created only with ``O_CREAT`` added).
_LOG_FLAGS = os.O_WRONLY | os.O_TRUNC | os.O_APPEND


class LogSink:
    """Appends chunks to the attempt log, unbuffered, up to the cap; keeps the stdout tail.

    The file is created on the first byte to write (docs/executors.md, "How a task runs"): an
    attempt that prints nothing leaves no file, which every reader shows as an empty log.
    """

    def __init__(self, path: str | Path, cap: int, secrets: tuple[str, ...] = ()) -> None:
        self.path = path
        # Whatever is at PATH already is dealt with now, in one system call (an open without
        # O_CREAT): a log a run killed before its attempt was on record left under the same
        # attempt number is emptied (the resumed attempt must not add to it); anything but a
        # regular file is refused, never through a link, never blocking (a task may have put a
        # FIFO or a symbolic link where a later attempt's log goes): ``OSError``.
        try:
            self.fd: int | None = open_regular(path, _LOG_FLAGS)
        except FileNotFoundError:
            self.fd = None  # nothing there: created with the first byte
        self.cap = cap
        self.written = 0
        self.discarded = 0
        self.tail = bytearray()
        #: The log's first bytes and last bytes, kept so nothing reads the file back.
        self.head = bytearray()
        self.log_tail = bytearray()
        #: The first failed log write (e.g. ENOSPC): from then on output is discarded, counted.
        self.write_error: OSError | None = None
        # Secrets are masked before anything is written, also when one spans two chunks.
        self._mask = Masker(secrets).stream() if secrets else None

    def write(self, chunk: bytes, *, is_stdout: bool) -> None:
        if is_stdout:
            self.tail += chunk
            if len(self.tail) > 2 * STDOUT_TAIL_BYTES:
                del self.tail[: len(self.tail) - STDOUT_TAIL_BYTES]
        if self._mask is not None:
            chunk = self._mask.feed(chunk)
            if not chunk:
                return
        self._append(chunk)

    def _append(self, chunk: bytes) -> None:
        if self.discarded or self.write_error is not None:
            self.discarded += len(chunk)
            return
        room = self.cap - self.written
        if len(chunk) <= room:
            done = self._write_all(chunk)
            self.written += done
            self.discarded += len(chunk) - done
            self._keep(chunk[:done] if done < len(chunk) else chunk)
            return
        if room > 0:
            done = self._write_all(chunk[:room])
            self.written += done
            self.discarded += room - done
            self._keep(chunk[:done])
        self.discarded += len(chunk) - max(room, 0)
        marker = (
            f"\n[wf] log limit of {self.cap} bytes reached; "
            "further output of this attempt is discarded\n"
        ).encode()
        if self.write_error is None and self._write_all(marker) == len(marker):
            self._keep(marker)

    def _keep(self, data: bytes) -> None:
        """Remember DATA (just written to the log) in the head and the tail."""
        if len(self.head) <= LOG_HEAD_BYTES:
            self.head += data[: LOG_HEAD_BYTES + 1 - len(self.head)]
        self.log_tail += data
        if len(self.log_tail) > 2 * LOG_TAIL_BYTES:
            del self.log_tail[: len(self.log_tail) - LOG_TAIL_BYTES]

    def _write_all(self, data: bytes) -> int:
        """Write DATA; fewer bytes are written only when the log cannot take more (full disk)."""
        if not data:
            return 0
        fd = self.fd
        if fd is None:
            # The first byte: the same rules as a log already there (a FIFO or link planted
            # since the start is refused); a log that cannot be created is a write error.
            try:
                fd = self.fd = open_regular(self.path, _LOG_FLAGS | os.O_CREAT)
            except OSError as exc:
                self.write_error = exc
                return 0
        view = memoryview(data)
        done = 0
        while view:
            try:
                n = os.write(fd, view)
            except OSError as exc:
                self.write_error = exc
                return done
            done += n
            view = view[n:]
        return done

    def close(self) -> bytes:
        if self._mask is not None:
            rest = self._mask.flush()
            if rest:
                self._append(rest)
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        tail = bytes(self.tail[-STDOUT_TAIL_BYTES:])
        self.tail = bytearray()
        return tail

    def warn_if_discarded(self, log: logging.Logger) -> None:
        """After ``close``: one warning on LOG when output was discarded because the log could
        not be written (the run goes on)."""
        if self.write_error is not None:
            log.warning(
                "cannot write log %s: %s; %d byte(s) of output discarded",
                self.path,
                self.write_error.strerror or self.write_error,
                self.discarded,
            )

    def fill(self, result: AttemptResult) -> None:
        """Copy the log's head and tail into RESULT (after ``close``)."""
        result.log_head = bytes(self.head)
        result.log_tail = bytes(self.log_tail[-LOG_TAIL_BYTES:])
