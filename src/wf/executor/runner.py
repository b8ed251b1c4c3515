"""The local attempt runner: one shell attempt, its log, its timeout and its whole process group."""

from __future__ import annotations

import contextlib
import enum
import logging
import math
import os
import select
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from wf.executor.procgroup import Spawned, group_alive, signal_name, spawn_shell, terminate_group
from wf.executor.watchdog import WATCHDOG

log = logging.getLogger("wf.executor")

STDOUT_TAIL_BYTES = 1024 * 1024
PIPE_EOF_WAIT = 2.0
_READ_SIZE = 65536
_CANCEL_POLL = 0.1


class CancelSignal(Protocol):
    """What a runner needs to know about cancellation of its run."""

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


class _LogSink:
    """Appends chunks to the attempt log, unbuffered, up to the cap; keeps the stdout tail."""

    def __init__(self, path: str | Path, cap: int) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
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


def _pidfd(pid: int) -> int | None:
    if not hasattr(os, "pidfd_open"):
        return None
    try:
        return os.pidfd_open(pid)
    except OSError:
        return None


def run_attempt(
    spec: AttemptSpec,
    cancel: CancelSignal | None = None,
    *,
    on_start: Callable[[int, float], None] | None = None,
    clock: Callable[[], float] = time.time,
) -> AttemptResult:
    """Run one attempt to completion: spawn, stream output, enforce timeout and cancellation.

    Times in the result are ``clock()`` values (wall-clock seconds). Never raises for a
    command that fails; ``OSError`` from the log file propagates.
    """
    if spec.output_path is not None:
        # SPEC §2.5: the WF_OUTPUT file exists, empty and 0600, before the attempt starts.
        create_private_file(spec.output_path, truncate=True)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    start = clock()
    try:
        proc = spawn_shell(spec.command, spec.env, spec.cwd, out_w, err_w)
    except OSError as exc:
        for fd in (out_r, out_w, err_r, err_w):
            os.close(fd)
        _LogSink(spec.log_path, spec.log_max_bytes).close()
        return AttemptResult(
            Outcome.START_FAILED,
            -1,
            f"failed to start command: {exc.strerror or exc}",
            start,
            clock(),
        )
    finally:
        with contextlib.suppress(OSError):
            os.close(out_w)
        with contextlib.suppress(OSError):
            os.close(err_w)
    WATCHDOG.add(proc.pid)
    # The log is opened while the shell starts up, off the critical path; output waits in the
    # pipes meanwhile.
    try:
        sink = _LogSink(spec.log_path, spec.log_max_bytes)
    except OSError:
        for fd in (out_r, err_r):
            os.close(fd)
        terminate_group(proc.pid, 0.0, leader=proc, hard=True)
        WATCHDOG.remove(proc.pid)
        raise
    try:
        if on_start is not None:
            on_start(proc.pid, start)
        outcome, signame = _supervise(proc, spec, sink, out_r, err_r, cancel)
    finally:
        WATCHDOG.remove(proc.pid)
        tail = sink.close()
    if sink.write_error is not None:
        log.warning(
            "cannot write log %s: %s; %d byte(s) of output discarded",
            spec.log_path,
            sink.write_error.strerror or sink.write_error,
            sink.discarded,
        )
    end = clock()
    code = proc.returncode if proc.returncode is not None else -1
    if outcome is Outcome.TIMED_OUT:
        from wf.durations import format_duration

        error: str | None = f"timed out after {format_duration(spec.timeout or 0.0)}"
        code = -1
    elif outcome is Outcome.CANCELLED:
        error = f"cancelled: {cancel.reason if cancel is not None else 'cancelled'}"
        code = -1
    elif code < 0:
        outcome = Outcome.SIGNALED
        signame = signal_name(-code)
        error = f"killed by signal {signame}"
        code = -1
    elif code != 0:
        error = f"exit status {code}"
    else:
        error = None
    return AttemptResult(
        outcome,
        code,
        error,
        start,
        end,
        pid=proc.pid,
        stdout_tail=tail,
        output_truncated=sink.discarded,
        signal=signame,
    )


def _supervise(
    proc: Spawned,
    spec: AttemptSpec,
    sink: _LogSink,
    out_r: int,
    err_r: int,
    cancel: CancelSignal | None,
) -> tuple[Outcome, str | None]:
    """Drain both pipes until the group is done, or a timeout or cancellation takes over."""
    sel = select.poll()
    open_fds = {out_r: True, err_r: False}  # fd -> is_stdout
    for fd in open_fds:
        os.set_blocking(fd, False)
        sel.register(fd, select.POLLIN)
    pidfd = _pidfd(proc.pid)
    if pidfd is not None:
        sel.register(pidfd, select.POLLIN)
    deadline = (time.monotonic() + spec.timeout) if spec.timeout else None
    eof_deadline: float | None = None
    outcome = Outcome.EXITED
    try:
        while True:
            if proc.returncode is None and proc.poll() is not None and eof_deadline is None:
                eof_deadline = time.monotonic() + PIPE_EOF_WAIT
                if pidfd is not None:
                    sel.unregister(pidfd)
                    os.close(pidfd)
                    pidfd = None
            if not open_fds and proc.returncode is not None:
                break
            now = time.monotonic()
            if cancel is not None and cancel.is_set() and proc.returncode is None:
                outcome = Outcome.CANCELLED
                break
            if deadline is not None and now >= deadline and proc.returncode is None:
                outcome = Outcome.TIMED_OUT
                break
            if eof_deadline is not None and now >= eof_deadline:
                break
            wait = _CANCEL_POLL
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - now))
            if eof_deadline is not None:
                wait = min(wait, max(0.0, eof_deadline - now))
            if pidfd is None and proc.returncode is None:
                wait = min(wait, 0.01)
            for fd, _ in sel.poll(math.ceil(wait * 1000)):
                if fd == pidfd:
                    continue  # handled by poll() at the top of the loop
                _drain(fd, open_fds, sel, sink)
        if outcome is not Outcome.EXITED:
            _drain_all(open_fds, sel, sink)
            terminate_group(
                proc.pid,
                spec.kill_grace,
                leader=proc,
                hard=bool(cancel is not None and cancel.hard),
                kill_now=_HardFlag(cancel),
            )
        elif group_alive(proc.pid):
            # The shell exited but something of its group lives on: it must not outlive us.
            terminate_group(proc.pid, spec.kill_grace, leader=proc)
        _drain_all(open_fds, sel, sink)
    finally:
        for fd in list(open_fds):
            sel.unregister(fd)
            os.close(fd)
        if pidfd is not None:
            sel.unregister(pidfd)
            os.close(pidfd)
    return outcome, None


class _HardFlag:
    """Adapts a cancel signal to ``is_set()`` meaning "kill now" (second Ctrl+C)."""

    def __init__(self, cancel: CancelSignal | None) -> None:
        self._cancel = cancel

    def is_set(self) -> bool:
        return bool(self._cancel is not None and self._cancel.hard)


def _drain(fd: int, open_fds: dict[int, bool], sel: select.poll, sink: _LogSink) -> None:
    """Read what is available on FD; close it at end-of-file."""
    try:
        chunk = os.read(fd, _READ_SIZE)
    except BlockingIOError:
        return
    except OSError:
        chunk = b""
    if chunk:
        sink.write(chunk, is_stdout=open_fds[fd])
        return
    sel.unregister(fd)
    os.close(fd)
    del open_fds[fd]


def _drain_all(open_fds: dict[int, bool], sel: select.poll, sink: _LogSink) -> None:
    """Read everything already buffered in the pipes without waiting for more."""
    for fd in list(open_fds):
        while fd in open_fds:
            try:
                chunk = os.read(fd, _READ_SIZE)
            except BlockingIOError:
                break
            except OSError:
                chunk = b""
            if not chunk:
                sel.unregister(fd)
                os.close(fd)
                del open_fds[fd]
                break
            sink.write(chunk, is_stdout=open_fds[fd])
