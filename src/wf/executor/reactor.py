"""The attempt reactor: one thread spawns every attempt and watches its pipes, exit and deadlines.

Every running attempt is a set of file descriptors in one ``poll``: its stdout and stderr
pipes and, on Linux, a pidfd that becomes readable when the shell exits. Output is appended
to the attempt's log as it arrives, deadlines (timeout, end-of-output wait) are checked by
sweeps, and the rare slow path (TERM, grace period, KILL of a whole process group) runs on a
short-lived helper thread that wakes the reactor when the group is gone. No thread is
created, and no lock taken, per attempt on the fast path.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import queue
import select
import threading
import time
from collections.abc import Callable

from wf.executor import containment
from wf.executor.procgroup import Spawned, group_alive, signal_name, spawn_shell, terminate_group
from wf.executor.runner import (
    AttemptResult,
    AttemptSpec,
    CancelSignal,
    LogSink,
    Outcome,
)
from wf.executor.watchdog import WATCHDOG

log = logging.getLogger("wf.executor")

PIPE_EOF_WAIT = 2.0  # seconds to wait for end of output once the shell has exited
SWEEP_INTERVAL = 0.02  # seconds between checks of every attempt's cancellation and deadlines
_NO_PIDFD_POLL = 0.01  # without pidfds, exits are noticed by polling this often
_READ_SIZE = 65536
_DRAIN_READS = 32  # 2 MiB: twice the largest pipe buffer Linux allows by default


def _pidfd(pid: int) -> int | None:
    if not hasattr(os, "pidfd_open"):
        return None
    try:
        return os.pidfd_open(pid)
    except OSError:
        return None


class _HardFlag:
    """Adapts a cancel signal to ``is_set()`` meaning "kill now" (second Ctrl+C)."""

    def __init__(self, cancel: CancelSignal | None) -> None:
        self._cancel = cancel

    def is_set(self) -> bool:
        return bool(self._cancel is not None and self._cancel.hard)


class Attempt:
    """One attempt in the reactor: its process group, pipes, log and deadlines."""

    __slots__ = (
        "cancel",
        "deadline",
        "eof_deadline",
        "fds",
        "guarded",
        "outcome",
        "pidfd",
        "proc",
        "result",
        "sink",
        "spec",
        "start",
        "tag",
        "terminating",
    )

    def __init__(self, spec: AttemptSpec, cancel: CancelSignal | None, tag: object) -> None:
        self.spec = spec
        self.cancel = cancel
        self.tag = tag
        self.proc: Spawned | None = None
        self.sink: LogSink | None = None
        self.fds: dict[int, bool] = {}  # open pipe read ends -> is stdout
        self.pidfd: int | None = None
        self.deadline: float | None = None
        self.eof_deadline: float | None = None
        self.outcome = Outcome.EXITED
        self.terminating = False
        #: Registered with the orphan guard (``WATCHDOG``) under its process-group ID.
        self.guarded = False
        self.start = 0.0
        #: Set once the attempt is over.
        self.result: AttemptResult | None = None


class Reactor:
    """Starts attempts and reports each one when it is over; used from one thread only."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._poll = select.poll()
        self._owner: dict[int, Attempt] = {}  # fd (pipe or pidfd) -> attempt
        self._active: dict[int, Attempt] = {}  # id(attempt) -> attempt
        self._terminated: queue.SimpleQueue[Attempt] = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._wake_lock = threading.Lock()  # no wake-up write after close (fd reuse)
        self._closed = False
        self._poll.register(self._wake_r, select.POLLIN)
        self._next_sweep = 0.0
        self._polling_exits = False  # some attempt has no pidfd: poll for its exit
        containment.become_subreaper()  # orphaned descendants of attempts come back to us

    @property
    def active(self) -> int:
        """Attempts started and not yet reported."""
        return len(self._active)

    def sweep_soon(self) -> None:
        """Check cancellation of every attempt at the next ``wait`` (after a cancel request)."""
        self._next_sweep = 0.0

    def close(self) -> None:
        """Release the reactor's own file descriptors (attempts must be over)."""
        with self._wake_lock:
            if self._closed:
                return
            self._closed = True
            for fd in (self._wake_r, self._wake_w):
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _wake(self) -> None:
        """Interrupt ``wait`` from another thread."""
        with self._wake_lock:
            if not self._closed:
                with contextlib.suppress(OSError):
                    os.write(self._wake_w, b"x")

    # -- starting ------------------------------------------------------------------------
    def start(
        self,
        spec: AttemptSpec,
        cancel: CancelSignal | None = None,
        *,
        on_start: Callable[[int, float], None] | None = None,
        tag: object = None,
    ) -> Attempt:
        """Spawn SPEC's command. A command that cannot start gives an attempt already over.

        ``OSError`` from a file already at the log path (a FIFO, a link, a directory)
        propagates (nothing keeps running); the log itself is created on the first output byte.
        The WF_OUTPUT file is not created: the task's ``>>`` creates it (docs/variables.md,
        "WF_OUTPUT").
        """
        attempt = Attempt(spec, cancel, tag)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        attempt.start = start = self._clock()
        markers = containment.Markers.from_env(spec.env)
        WATCHDOG.expect(markers)
        try:
            proc = spawn_shell(spec.command, spec.env, spec.cwd, out_w, err_w)
        except OSError as exc:
            WATCHDOG.forget(markers)
            for fd in (out_r, err_r):
                os.close(fd)
            LogSink(spec.log_path, spec.log_max_bytes, spec.secrets).close()
            attempt.result = AttemptResult(
                Outcome.START_FAILED,
                -1,
                f"failed to start command: {exc.strerror or exc}",
                start,
                self._clock(),
            )
            return attempt
        finally:
            os.close(out_w)
            os.close(err_w)
        attempt.proc = proc
        WATCHDOG.add(proc.pid, markers, expected=True)
        attempt.guarded = True
        # A file at the log path is dealt with while the shell starts up (output waits in the
        # pipes meanwhile); the log is created on the first output byte.
        try:
            attempt.sink = LogSink(spec.log_path, spec.log_max_bytes, spec.secrets)
            if on_start is not None:
                on_start(proc.pid, start)
        except BaseException:  # no log, or the caller failed: nothing may keep running
            for fd in (out_r, err_r):
                os.close(fd)
            if attempt.sink is not None:
                attempt.sink.close()
            terminate_group(
                proc.pid, 0.0, leader=proc, hard=True, on_gone=lambda: self._unguard(attempt)
            )
            raise
        poll = self._poll
        for fd, is_stdout in ((out_r, True), (err_r, False)):
            os.set_blocking(fd, False)
            attempt.fds[fd] = is_stdout
            self._owner[fd] = attempt
            poll.register(fd, select.POLLIN)
        pidfd = _pidfd(proc.pid)
        if pidfd is not None:
            attempt.pidfd = pidfd
            self._owner[pidfd] = attempt
            poll.register(pidfd, select.POLLIN)
        else:
            self._polling_exits = True
        if spec.timeout:
            attempt.deadline = time.monotonic() + spec.timeout
            self._next_sweep = min(self._next_sweep, attempt.deadline)
        self._active[id(attempt)] = attempt
        return attempt

    # -- waiting ---------------------------------------------------------------------------
    def wait(self, timeout: float) -> list[Attempt]:
        """Wait up to TIMEOUT seconds for events; return the attempts that are now over."""
        now = time.monotonic()
        if self._polling_exits:
            timeout = min(timeout, _NO_PIDFD_POLL)
        if self._active:
            timeout = min(timeout, max(0.0, self._next_sweep - now))
        done: list[Attempt] = []
        touched: dict[int, Attempt] = {}
        for fd, _ in self._poll.poll(math.ceil(max(0.0, timeout) * 1000)):
            if fd == self._wake_r:
                with contextlib.suppress(OSError):
                    os.read(fd, 4096)
                continue
            attempt = self._owner.get(fd)
            if attempt is None:
                continue
            if fd == attempt.pidfd:
                self._exited(attempt)
            else:
                self._drain(attempt, fd)
            touched[id(attempt)] = attempt
        while not self._terminated.empty():
            attempt = self._terminated.get()
            self._drain_all(attempt)
            self._finish(attempt)
            done.append(attempt)
            touched.pop(id(attempt), None)
        now = time.monotonic()
        if now >= self._next_sweep or self._polling_exits:
            self._next_sweep = now + SWEEP_INTERVAL
            touched = dict(self._active)
        for attempt in touched.values():
            if self._check(attempt, now):
                done.append(attempt)
        return done

    def _check(self, attempt: Attempt, now: float) -> bool:
        """Move ATTEMPT on (exit, timeout, cancellation); True once it is over."""
        if attempt.terminating:
            return False
        proc = attempt.proc
        assert proc is not None
        if attempt.pidfd is None and proc.returncode is None and proc.poll() is not None:
            self._unguard_if_gone(attempt)
            attempt.eof_deadline = now + PIPE_EOF_WAIT
        if proc.returncode is not None:
            if attempt.fds and attempt.eof_deadline is not None and now < attempt.eof_deadline:
                self._next_sweep = min(self._next_sweep, attempt.eof_deadline)
                return False
            # Unguarded here means the group was already gone when the shell was reaped (a
            # group that is gone cannot gain members again).
            if (attempt.guarded and group_alive(proc.pid)) or containment.strays_left(
                attempt.spec.env
            ):
                # The shell exited but something it started lives on: it must not outlive us.
                self._terminate(attempt, hard=False)
                return False
            self._drain_all(attempt)
            self._finish(attempt)
            return True
        cancel = attempt.cancel
        if cancel is not None and cancel.is_set():
            attempt.outcome = Outcome.CANCELLED
            self._terminate(attempt, hard=cancel.hard)
        elif attempt.deadline is not None:
            if now >= attempt.deadline:
                attempt.outcome = Outcome.TIMED_OUT
                self._terminate(attempt, hard=False)
            else:
                self._next_sweep = min(self._next_sweep, attempt.deadline)
        return False

    def _exited(self, attempt: Attempt) -> None:
        """The pidfd of ATTEMPT's shell became readable: reap it, then wait for end of output."""
        proc = attempt.proc
        assert proc is not None
        if attempt.terminating:
            return  # the terminating helper reaps it
        if proc.poll() is None:
            return
        self._close_pidfd(attempt)
        self._unguard_if_gone(attempt)
        attempt.eof_deadline = time.monotonic() + PIPE_EOF_WAIT

    @staticmethod
    def _unguard_if_gone(attempt: Attempt) -> None:
        """Right after the shell is reaped: when nothing of its group is left, take the group
        off the orphan guard at once. Its ID is free from now on and may soon name an unrelated
        process group, which a guard still holding it would kill if wf died."""
        proc = attempt.proc
        assert proc is not None
        if attempt.guarded and not group_alive(proc.pid):
            WATCHDOG.remove(proc.pid)
            attempt.guarded = False

    @staticmethod
    def _unguard(attempt: Attempt) -> None:
        """Take ATTEMPT's group off the orphan guard."""
        if attempt.guarded:
            assert attempt.proc is not None
            WATCHDOG.remove(attempt.proc.pid)
            attempt.guarded = False

    def _close_pidfd(self, attempt: Attempt) -> None:
        pidfd = attempt.pidfd
        if pidfd is not None:
            attempt.pidfd = None
            self._poll.unregister(pidfd)
            del self._owner[pidfd]
            os.close(pidfd)

    def _terminate(self, attempt: Attempt, *, hard: bool) -> None:
        """TERM → grace → KILL ATTEMPT's group on a helper thread; output is still drained."""
        proc = attempt.proc
        assert proc is not None
        attempt.terminating = True
        self._close_pidfd(attempt)
        self._drain_all(attempt)
        cancel = attempt.cancel if attempt.outcome is not Outcome.EXITED else None
        done = self._terminated

        def terminate() -> None:
            try:
                containment.terminate_attempt(
                    proc.pid,
                    attempt.spec.kill_grace,
                    markers=containment.Markers.from_env(attempt.spec.env),
                    leader=proc,
                    hard=hard,
                    kill_now=_HardFlag(cancel),
                    on_gone=lambda: self._unguard(attempt),
                )
            finally:
                done.put(attempt)
                self._wake()

        threading.Thread(target=terminate, name="wf-terminate", daemon=True).start()

    # -- output ----------------------------------------------------------------------------
    def _drain(self, attempt: Attempt, fd: int) -> None:
        """Read what is available on FD; close it at end of file."""
        try:
            chunk = os.read(fd, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if chunk:
            assert attempt.sink is not None
            attempt.sink.write(chunk, is_stdout=attempt.fds[fd])
            return
        self._close_pipe(attempt, fd)

    def _drain_all(self, attempt: Attempt) -> None:
        """Read what is already buffered in ATTEMPT's pipes without waiting for more.

        At most ``_DRAIN_READS`` reads per pipe: more than a pipe can hold, so nothing written
        before the writers ended is lost, while a process that escaped the group and keeps
        writing cannot hold the engine in this loop.
        """
        sink = attempt.sink
        assert sink is not None
        for fd in list(attempt.fds):
            for _ in range(_DRAIN_READS):
                try:
                    chunk = os.read(fd, _READ_SIZE)
                except BlockingIOError:
                    break
                except OSError:
                    chunk = b""
                if not chunk:
                    self._close_pipe(attempt, fd)
                    break
                sink.write(chunk, is_stdout=attempt.fds[fd])

    def _close_pipe(self, attempt: Attempt, fd: int) -> None:
        self._poll.unregister(fd)
        del self._owner[fd]
        del attempt.fds[fd]
        os.close(fd)

    # -- the end ---------------------------------------------------------------------------
    def _finish(self, attempt: Attempt) -> None:
        """Close what is left of ATTEMPT and build its result."""
        for fd in list(attempt.fds):
            self._close_pipe(attempt, fd)
        self._close_pidfd(attempt)
        del self._active[id(attempt)]
        if self._polling_exits and all(a.pidfd is not None for a in self._active.values()):
            self._polling_exits = False
        proc, sink, spec = attempt.proc, attempt.sink, attempt.spec
        assert proc is not None
        assert sink is not None
        self._unguard(attempt)  # its shell is reaped
        tail = sink.close()
        sink.warn_if_discarded(log)
        code = proc.returncode if proc.returncode is not None else -1
        outcome, signame = attempt.outcome, None
        if outcome is Outcome.TIMED_OUT:
            from wf.durations import format_duration

            error: str | None = f"timed out after {format_duration(spec.timeout or 0.0)}"
            code = -1
        elif outcome is Outcome.CANCELLED:
            cancel = attempt.cancel
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
        attempt.result = AttemptResult(
            outcome,
            code,
            error,
            attempt.start,
            self._clock(),
            pid=proc.pid,
            stdout_tail=tail,
            output_truncated=sink.discarded,
            signal=signame,
        )


def run_attempt(
    spec: AttemptSpec,
    cancel: CancelSignal | None = None,
    *,
    on_start: Callable[[int, float], None] | None = None,
    clock: Callable[[], float] = time.time,
) -> AttemptResult:
    """Run one attempt to completion in a reactor of its own (blocking).

    Times in the result are ``clock()`` values (wall-clock seconds). Never raises for a
    command that fails; ``OSError`` from the log or WF_OUTPUT file propagates.
    """
    reactor = Reactor(clock)
    try:
        attempt = reactor.start(spec, cancel, on_start=on_start)
        while attempt.result is None:
            reactor.wait(SWEEP_INTERVAL * 5)
    finally:
        reactor.close()
    return attempt.result
