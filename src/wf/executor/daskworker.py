"""The worker side of the Dask runner: one attempt as a process group on a Dask worker.

``run_remote`` runs in a worker thread. It starts ``/bin/sh -c`` in a session of its own with
the environment it was given plus a worker-side ``WF_OUTPUT`` file, streams output chunks back
to the client as events while the command runs (``Worker.log_event`` on the run's topic, in
order with the final ``end`` event), enforces the timeout and kill grace here, and kills the
whole attempt (its group and whatever left it: ``containment``) when the client cancels it
(``cancel_remote``, run on the worker through ``Client.run``). The worker's orphan guard kills
the attempt's processes if the worker process dies. An attempt claims its key at the scheduler
before its command starts; Dask's re-run of it on another worker finds the claim and reports
the attempt lost without running anything.
Imports only the standard library and wf at module level: ``distributed`` is looked up when
the function runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

from wf.executor import containment
from wf.executor.outputs import read_output_file
from wf.executor.procgroup import group_alive, signal_name, spawn_shell
from wf.executor.runner import STDOUT_TAIL_BYTES
from wf.executor.watchdog import WATCHDOG

PIPE_EOF_WAIT = 2.0  # as locally: wait for end of output this long after the shell exits
FLUSH_BYTES = 65536  # a batch of output is sent once it holds this much …
FLUSH_DELAY = 0.05  # … or has waited this long
START_DELAY = 0.005  # an attempt reports its start once it has run this long (else at its end)
CLAIMS = "wf-claims"  # scheduler metadata: run topic -> attempt key -> workers that claimed it
CLAIM_TIMEOUT = 30.0  # seconds to record an attempt's claim at the scheduler
_READ_SIZE = 65536
_DRAIN_READS = 32


class _Control:
    """What the client can ask of a running attempt: stop, gently or at once."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self.hard = False

    def is_set(self) -> bool:
        """``kill_now`` for ``terminate_group``: a hard cancel cuts the grace period short."""
        return self.hard


_RUNNING: dict[str, _Control] = {}
_LOCK = threading.Lock()
_EARLY: set[str] = set()  # cancelled before they started here


def cancel_remote(key: str, hard: bool = False) -> bool:
    """Ask the attempt KEY on this worker to stop (run by ``Client.run``); True if it runs here."""
    with _LOCK:
        control = _RUNNING.get(key)
        if control is None:
            _EARLY.add(key)
            return False
    if hard:
        control.hard = True
    control.cancelled.set()
    return True


_OUTPUT_DIRS: dict[int, str] = {}  # process ID -> this worker process's WF_OUTPUT directory


def _output_dir() -> str:
    """A private directory (0700) of this worker process for the attempts' WF_OUTPUT files."""
    with _LOCK:
        path = _OUTPUT_DIRS.get(os.getpid())
        if path is None or not os.path.isdir(path):
            path = _OUTPUT_DIRS[os.getpid()] = tempfile.mkdtemp(prefix="wf-outputs-")
        return path


class _Stream:
    """Output on its way to the client: batched, numbered, and cut at the log cap."""

    def __init__(self, send: Callable[[dict[str, Any]], None], key: str, cap: int) -> None:
        self._send = send
        self._key = key
        self._cap = cap
        self._batch: list[list[Any]] = []
        self._size = 0
        self._first = 0.0
        self.sent_bytes = 0
        self.messages = 0
        self.discarded = 0
        self.tail = bytearray()

    def add(self, data: bytes, is_stdout: bool) -> None:
        if is_stdout:
            self.tail += data
            if len(self.tail) > 2 * STDOUT_TAIL_BYTES:
                del self.tail[: len(self.tail) - STDOUT_TAIL_BYTES]
        if self.sent_bytes > self._cap:
            # The client's log is full (its marker written): nothing more needs to travel.
            self.discarded += len(data)
            return
        self.sent_bytes += len(data)
        if not self._batch:
            self._first = time.monotonic()
        if self._batch and self._batch[-1][0] == is_stdout:
            self._batch[-1][1] += data
        else:
            self._batch.append([is_stdout, bytes(data)])
        self._size += len(data)
        if self._size >= FLUSH_BYTES:
            self.flush()

    def due(self, now: float) -> bool:
        return bool(self._batch) and now - self._first >= FLUSH_DELAY

    def flush(self) -> None:
        if not self._batch:
            return
        chunks = [[bool(s), bytes(d)] for s, d in self._batch]
        self._batch, self._size = [], 0
        self.messages += 1
        self._send({"kind": "out", "key": self._key, "seq": self.messages, "chunks": chunks})


def run_remote(payload: bytes, topic: str, key: str) -> None:
    """Run one attempt (PAYLOAD: its spec as JSON) on this worker; everything is reported as
    events on TOPIC."""
    from distributed import get_worker

    worker = get_worker()
    containment.become_subreaper()  # orphaned descendants of attempts come back to this worker
    host = str(worker.address)

    def send(message: dict[str, Any]) -> None:
        worker.log_event(topic, message)

    owner = _claim(worker, topic, key, host)
    if owner is not None:
        # Dask runs a task again when the worker running it leaves: never an attempt. Its
        # first run started on a worker that is gone; wf records it as lost, and retries it
        # (if at all) as a new attempt of its own.
        send(
            {
                "kind": "end",
                "key": key,
                "host": owner,
                "messages": 0,
                "outcome": "exited",
                "exit_code": -1,
                "error": f"worker lost: {owner}",
                "end": time.time(),
            }
        )
        return

    control = _Control()
    with _LOCK:
        early = key in _EARLY
        _EARLY.discard(key)
        if not early:
            _RUNNING[key] = control
    if early:
        control.cancelled.set()
    try:
        result = _run(json.loads(payload), key, host, send, control)
    finally:
        with _LOCK:
            _RUNNING.pop(key, None)
    send(result)


def _claim(worker: Any, topic: str, key: str, host: str) -> str | None:
    """Record at the scheduler that attempt KEY runs on HOST, before its command starts.

    Returns None when the claim is ours, else the address of the worker that claimed KEY
    first: this run is Dask re-running the attempt after that worker left. The claim is
    awaited, so an attempt whose command started is always claimed when the scheduler hands
    it to another worker (it does so only once the first one is removed).
    """
    import asyncio

    from distributed.utils import sync

    path = [CLAIMS, topic, key]

    async def claim() -> str | None:
        # One round trip: the claim and the look-up travel together. A claim of another
        # worker, if any, was recorded before that worker started the command.
        claims, _ = await asyncio.gather(
            worker.scheduler.get_metadata(keys=path, default=None),
            worker.scheduler.set_metadata(keys=[*path, host], value=True),
        )
        others = sorted(str(h) for h in (claims or {}) if h != host)
        return others[0] if others else None

    result: str | None = sync(worker.loop, claim, callback_timeout=CLAIM_TIMEOUT)
    return result


def _run(
    payload: dict[str, Any],
    key: str,
    host: str,
    send: Callable[[dict[str, Any]], None],
    control: _Control,
) -> dict[str, Any]:
    end: dict[str, Any] = {"kind": "end", "key": key, "host": host, "messages": 0}
    stream = _Stream(send, key, int(payload["log_max_bytes"]))
    start = time.time()
    if control.cancelled.is_set():
        end.update(outcome="cancelled", exit_code=-1, start=start, end=time.time())
        return end
    output_path = os.path.join(_output_dir(), f"{key}.output")
    env = dict(payload["env"])
    env["WF_OUTPUT"] = output_path
    try:
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        # Guarded from before the shell starts (as locally): a worker that dies at once still
        # takes the attempt's processes with it.
        markers = containment.Markers.from_env(env)
        WATCHDOG.expect(markers)
        try:
            proc = spawn_shell(payload["command"], env, payload.get("cwd"), out_w, err_w)
        except OSError as exc:
            WATCHDOG.forget(markers)
            for fd in (out_r, err_r):
                os.close(fd)
            end.update(
                outcome="start_failed",
                exit_code=-1,
                error=f"failed to start command: {exc.strerror or exc}",
                start=start,
                end=time.time(),
            )
            return end
        finally:
            os.close(out_w)
            os.close(err_w)
        WATCHDOG.add(proc.pid, markers, expected=True)

        def started() -> None:
            send({"kind": "start", "key": key, "pid": proc.pid, "host": host, "start": start})

        try:
            outcome = _watch(
                proc, {out_r: True, err_r: False}, payload, env, stream, control, started
            )
        finally:
            WATCHDOG.remove(proc.pid)
        stream.flush()
        code = proc.returncode if proc.returncode is not None else -1
        error: str | None = None
        if outcome == "exited" and code < 0:
            outcome, error, code = "signaled", f"killed by signal {signal_name(-code)}", -1
        elif outcome == "exited" and code != 0:
            error = f"exit status {code}"
        elif outcome != "exited":
            code = -1
        output, output_error = read_output_file(output_path)
        end.update(
            outcome=outcome,
            exit_code=code,
            error=error,
            start=start,
            end=time.time(),
            pid=proc.pid,
            output=output,
            output_error=output_error,
            messages=stream.messages,
            discarded=stream.discarded,
            stdout_tail=bytes(stream.tail[-STDOUT_TAIL_BYTES:]) if stream.discarded else None,
        )
        return end
    finally:
        with contextlib.suppress(OSError):
            os.unlink(output_path)


def _watch(
    proc: Any,
    fds: dict[int, bool],
    payload: dict[str, Any],
    env: dict[str, str],
    stream: _Stream,
    control: _Control,
    started: Callable[[], None],
) -> str:
    """Stream output until the attempt is over; return how it ended.

    STARTED (the ``start`` event) is called once the attempt has run ``START_DELAY``: a
    quicker one reports its start with its end, one message instead of two.
    """
    selector = selectors.DefaultSelector()
    for fd in fds:
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ)
    # The shell's exit wakes the selector too (Linux pidfd), so the end of an attempt is
    # noticed at once rather than at the next poll.
    pidfd: int | None = None
    if hasattr(os, "pidfd_open"):
        try:
            pidfd = os.pidfd_open(proc.pid)
            selector.register(pidfd, selectors.EVENT_READ)
        except OSError:
            pidfd = None
    timeout = payload.get("timeout")
    deadline = time.monotonic() + timeout if timeout else None
    eof_deadline: float | None = None
    start_due: float | None = time.monotonic() + START_DELAY
    terminator: threading.Thread | None = None
    outcome = "exited"

    markers = containment.Markers.from_env(env)

    def terminate(hard: bool) -> threading.Thread:
        # Every process of the attempt, whatever group or session it moved to (as locally).
        thread = threading.Thread(
            target=containment.terminate_attempt,
            args=(proc.pid, float(payload["kill_grace"])),
            kwargs={"markers": markers, "leader": proc, "hard": hard, "kill_now": control},
            name="wf-remote-terminate",
            daemon=True,
        )
        thread.start()
        return thread

    try:
        while True:
            if fds or (pidfd is not None and terminator is None):
                wait = 0.02
                if start_due is not None:
                    wait = max(0.0, min(wait, start_due - time.monotonic()))
                for selected, _ in selector.select(wait):
                    if selected.fd == pidfd:
                        selector.unregister(pidfd)
                        os.close(pidfd)
                        pidfd = None
                    else:
                        _read(selected.fd, fds, selector, stream)
            else:
                time.sleep(0.005)
            now = time.monotonic()
            if start_due is not None and now >= start_due:
                start_due = None
                started()
            if stream.due(now):
                stream.flush()
            if terminator is not None:
                if not terminator.is_alive():
                    _drain(fds, selector, stream)
                    return outcome
                continue
            if control.cancelled.is_set():
                outcome = "cancelled"
                terminator = terminate(control.hard)
            elif deadline is not None and now >= deadline:
                outcome = "timed_out"
                terminator = terminate(False)
            elif proc.poll() is not None:
                if eof_deadline is None:
                    eof_deadline = now + PIPE_EOF_WAIT
                if fds and now < eof_deadline:
                    continue
                if group_alive(proc.pid) or containment.strays_left(env):
                    # Leftovers of the attempt must not outlive it.
                    terminator = terminate(False)
                    continue
                _drain(fds, selector, stream)
                return outcome
    finally:
        for fd in [*fds, *([pidfd] if pidfd is not None else [])]:
            selector.unregister(fd)
            os.close(fd)
        selector.close()


def _read(fd: int, fds: dict[int, bool], selector: selectors.BaseSelector, stream: _Stream) -> bool:
    """Read once from FD; True when something was read (more may be waiting)."""
    try:
        data = os.read(fd, _READ_SIZE)
    except BlockingIOError:
        return False
    except OSError:
        data = b""
    if data:
        stream.add(data, fds[fd])
        return True
    selector.unregister(fd)
    os.close(fd)
    del fds[fd]
    return False


def _drain(fds: dict[int, bool], selector: selectors.BaseSelector, stream: _Stream) -> None:
    """Read what is already in the pipes, bounded as locally: something that escaped the group
    and writes forever cannot hold the attempt here."""
    for fd in list(fds):
        for _ in range(_DRAIN_READS):
            if fd not in fds or not _read(fd, fds, selector, stream):
                break
