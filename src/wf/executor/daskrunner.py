"""The Dask attempt runner and ``DaskExecutor``: attempts on a Dask cluster (docs/dask.md).

Scheduling stays local: the engine decides what starts, retries, records and cancels; only
the attempts run on the workers, through ``daskworker.run_remote``. The session subscribes to
one event topic per run on which workers report each attempt's start (PID, worker address),
its output chunks and its end, in order; the log is written here by the same ``LogSink`` as a
local attempt's. Cancellation reaches the worker through ``Client.run`` (``cancel_remote``).
A worker that leaves fails its attempts with ``worker lost: ADDRESS`` (from the scheduler's
``remove-worker`` event, or from Dask's re-run of the attempt elsewhere, which the worker
refuses: ``daskworker._claim``, so the order of events does not matter); a scheduler that goes
away makes the session ``fatal`` (``dask scheduler lost``). Every wait is bounded.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from wf.errors import MissingExtraError, RunnerUnavailableError
from wf.executor.executors import WorkStealingExecutor
from wf.executor.runner import (
    AttemptResult,
    AttemptSpec,
    CancelSignal,
    LogSink,
    OnStart,
    Outcome,
)
from wf.storage import Store

log = logging.getLogger("wf.executor")

CONNECT_TIMEOUT = 6.0  # seconds to reach the scheduler: with start-up, the error comes within 10 s
SCHEDULER_LOST_AFTER = 3.0  # seconds without a scheduler connection before the run fails
#: Seconds past an attempt's timeout (plus kill grace), or past a cancel request, after which
#: an attempt whose worker says nothing more is given up locally: never a hang.
UNANSWERED_GRACE = 15.0
SWEEP_INTERVAL = 0.02
#: Attempts in flight per worker thread by default: one running and one queued behind it, so a
#: thread never idles for the round trip to wf between two attempts (bench/dask_overhead.py).
IN_FLIGHT_PER_THREAD = 2
SUBMIT_INTERVAL = 0.002  # seconds the client may hold a submission to batch it with others
SCHEDULER_LOST = "dask scheduler lost"
CLOSE_WAIT = 3.0  # seconds a closing session waits for its cancel requests to be sent


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise MissingExtraError("--executor dask", "dask") from None
    return distributed


class DaskAttempt:
    """One attempt submitted to the cluster."""

    def __init__(
        self,
        key: str,
        spec: AttemptSpec,
        cancel: CancelSignal | None,
        tag: object,
        on_start: OnStart | None,
        sink: LogSink,
    ) -> None:
        self.key = key
        self.spec = spec
        self.cancel = cancel
        self.tag = tag
        self.on_start = on_start
        self.sink = sink
        self.future: Any = None
        self.payload = b""  # the spec for the worker, until it is submitted
        self.result: AttemptResult | None = None
        self.host: str | None = None
        self.pid: int | None = None
        self.start = time.time()
        self.started_at = time.monotonic()
        self.messages = 0
        self.cancel_sent: float | None = None  # monotonic time of the cancel request
        self.hard_sent = False


class DaskSession:
    """One run's connection to the cluster."""

    def __init__(self, client: Any, address: str) -> None:
        self._client = client
        self._address = address
        self._topic = f"wf-attempts-{uuid.uuid4().hex}"
        self._events: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._active: dict[str, DaskAttempt] = {}
        self._unsubmitted: list[DaskAttempt] = []  # started, to be submitted at the next wait
        self._over: set[str] = set()  # keys of attempts given up or finished
        self._next_sweep = 0.0
        self._lost_since: float | None = None
        self.fatal: str | None = None
        self.capacity: int | None = None
        self._sending = 0  # cancel requests on their way to workers
        self._sending_lock = threading.Lock()
        events = self._events
        client.subscribe_topic(self._topic, lambda event: events.put(("attempt", event[1])))
        client.subscribe_topic("all", lambda event: events.put(("cluster", event[1])))

    def start(
        self,
        spec: AttemptSpec,
        cancel: CancelSignal | None,
        *,
        on_start: OnStart | None = None,
        tag: object = None,
    ) -> DaskAttempt:
        """Queue SPEC for the cluster; the log is opened here (``OSError`` propagates)."""
        sink = LogSink(spec.log_path, spec.log_max_bytes, spec.secrets)
        key = f"wf-attempt-{uuid.uuid4().hex}"
        attempt = DaskAttempt(key, spec, cancel, tag, on_start, sink)
        if self.fatal is not None:
            self._finish(
                attempt, Outcome.START_FAILED, -1, f"failed to start command: {self.fatal}"
            )
            return attempt
        # One opaque value: Dask would otherwise walk every environment variable looking for
        # futures inside the arguments.
        payload = json.dumps(
            {
                "command": spec.command,
                "env": dict(spec.env),
                "cwd": spec.cwd,
                "timeout": spec.timeout,
                "kill_grace": spec.kill_grace,
                "log_max_bytes": spec.log_max_bytes,
            }
        ).encode()
        # Submitted with the others started in the same turn of the engine (``_submit``): one
        # message and one graph update at the scheduler for all of them.
        attempt.payload = payload
        self._unsubmitted.append(attempt)
        self._active[key] = attempt
        return attempt

    def _submit(self, done: list[DaskAttempt]) -> None:
        """Send the attempts started since the last turn to the cluster, together."""
        from wf.executor.daskworker import run_remote

        batch = [a for a in self._unsubmitted if a.result is None]
        self._unsubmitted = []
        if not batch:
            return
        keys = [a.key for a in batch]
        try:
            futures = self._client.map(
                run_remote,
                [a.payload for a in batch],
                [self._topic] * len(batch),
                keys,
                key=keys,
                pure=False,
                retries=0,
            )
        except Exception as exc:  # the client is closing: the scheduler is gone
            self._lose_scheduler(f"{exc}")
            for attempt in batch:
                self._finish(attempt, Outcome.START_FAILED, -1, f"failed to start command: {exc}")
                done.append(attempt)
            return
        events = self._events
        for attempt, future in zip(batch, futures, strict=True):
            attempt.future = future
            attempt.payload = b""
            key = attempt.key
            future.add_done_callback(lambda _future, key=key: events.put(("future", key)))

    def wait(self, timeout: float) -> list[DaskAttempt]:
        """Handle what the cluster reported within TIMEOUT seconds; the attempts now over."""
        done: list[DaskAttempt] = []
        if self._unsubmitted:
            self._submit(done)
        deadline = time.monotonic() + max(0.0, timeout)
        if self._active:
            deadline = min(deadline, self._next_sweep)
        try:
            first = self._events.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            first = None
        if first is not None:
            self._handle(first, done)
            while True:
                try:
                    item = self._events.get_nowait()
                except queue.Empty:
                    break
                self._handle(item, done)
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_INTERVAL
            self._sweep(now, done)
        return done

    def wake(self) -> None:
        """Check every attempt's cancellation at the next ``wait``."""
        self._next_sweep = 0.0

    def close(self) -> None:
        """Give up what is left and disconnect."""
        for attempt in list(self._active.values()):
            self._request_cancel(attempt, hard=True)
            self._finish(attempt, Outcome.CANCELLED, -1, "cancelled: run over")
        if self.fatal is None:
            self._forget_claims()
        # Let the cancel requests still on their way reach the workers (unless the scheduler
        # is gone, when they cannot).
        deadline = time.monotonic() + CLOSE_WAIT
        while self._sending and self.fatal is None and time.monotonic() < deadline:
            time.sleep(0.01)
        # A remote attempt that reports its start after it was given up is stopped by the
        # stray-start rule, which needs the events that arrived meanwhile.
        while True:
            try:
                item = self._events.get_nowait()
            except queue.Empty:
                break
            self._handle(item, [])
        deadline = time.monotonic() + CLOSE_WAIT
        while self._sending and self.fatal is None and time.monotonic() < deadline:
            time.sleep(0.01)
        try:
            self._client.unsubscribe_topic(self._topic)
            self._client.unsubscribe_topic("all")
        except Exception:  # the scheduler may be gone already
            log.debug("cannot unsubscribe from the Dask scheduler", exc_info=True)
        try:
            self._client.close(timeout=2)
        except Exception:
            log.debug("closing the Dask client failed", exc_info=True)

    # -- events ------------------------------------------------------------------------------
    def _handle(self, item: tuple[str, Any], done: list[DaskAttempt]) -> None:
        source, message = item
        if source == "cluster":
            if isinstance(message, dict) and message.get("action") == "remove-worker":
                processing = message.get("processing-tasks") or ()
                self._worker_lost(str(message.get("worker", "")), set(processing), done)
            return
        if source == "future":
            self._future_done(message, done)
            return
        if not isinstance(message, dict):
            return
        key = message.get("key")
        attempt = self._active.get(key) if isinstance(key, str) else None
        kind = message.get("kind")
        if attempt is None:
            if kind == "start" and key in self._over:
                # Started after it was given up (e.g. Dask re-ran it elsewhere): stop it.
                self._send_cancel(str(message.get("host", "")), str(key), hard=True)
            return
        if kind == "out":
            attempt.messages = int(message.get("seq", attempt.messages + 1))
            for is_stdout, data in message.get("chunks", ()):
                attempt.sink.write(bytes(data), is_stdout=bool(is_stdout))
        elif kind == "start":
            attempt.pid = int(message["pid"])
            attempt.host = str(message["host"])
            attempt.start = float(message["start"])
            if attempt.on_start is not None:
                attempt.on_start(attempt.pid, attempt.start, attempt.host)
            if attempt.cancel_sent is not None:
                self._send_cancel(attempt.host, attempt.key, hard=attempt.hard_sent)
        elif kind == "end":
            self._ended(attempt, message, done)

    def _ended(
        self, attempt: DaskAttempt, message: dict[str, Any], done: list[DaskAttempt]
    ) -> None:
        if int(message.get("messages", 0)) != attempt.messages:
            log.warning(
                "attempt %s: %s of %s output message(s) arrived",
                attempt.key,
                attempt.messages,
                message.get("messages"),
            )
        outcome = Outcome(message["outcome"])
        error = message.get("error")
        if outcome is Outcome.TIMED_OUT:
            from wf.durations import format_duration

            error = f"timed out after {format_duration(attempt.spec.timeout or 0.0)}"
        elif outcome is Outcome.CANCELLED:
            cancel = attempt.cancel
            error = f"cancelled: {cancel.reason if cancel is not None else 'cancelled'}"
        attempt.host = message.get("host") or attempt.host
        if message.get("start"):
            attempt.start = float(message["start"])
        if attempt.pid is None and message.get("pid"):
            # A quick attempt reports its start only with its end.
            attempt.pid = int(message["pid"])
            if attempt.on_start is not None:
                attempt.on_start(attempt.pid, attempt.start, attempt.host)
        self._finish(
            attempt,
            outcome,
            int(message.get("exit_code", -1)),
            error,
            end=float(message.get("end") or time.time()),
            output=message.get("output"),
            output_error=message.get("output_error"),
            discarded=int(message.get("discarded") or 0),
            stdout_tail=message.get("stdout_tail"),
        )
        done.append(attempt)

    def _future_done(self, key: str, done: list[DaskAttempt]) -> None:
        attempt = self._active.get(key)
        if attempt is None or attempt.future is None:
            return
        status = attempt.future.status
        if status == "finished":
            return  # its ``end`` event carries the result
        if status == "error":
            try:
                exc = attempt.future.exception(timeout=5)
            except Exception as problem:  # the scheduler is unreachable
                exc = problem
            name = type(exc).__name__
            if name == "KilledWorker":
                error = f"worker lost: {attempt.host or exc}"
            else:
                error = f"worker error: {name}: {exc}"
        elif self._client.status != "running":
            self._lose_scheduler("connection closed")
            error = SCHEDULER_LOST
        else:
            error = f"worker lost: {attempt.host or 'unknown worker'}"
        self._finish(attempt, Outcome.EXITED, -1, error)
        done.append(attempt)

    def _worker_lost(self, address: str, processing: set[str], done: list[DaskAttempt]) -> None:
        """The worker at ADDRESS left: its attempts (those it reported, and those the scheduler
        had given it, which may have started without saying so yet) are lost."""
        for attempt in list(self._active.values()):
            if attempt.host == address or attempt.key in processing:
                attempt.host = attempt.host or address
                # Dask would run it again on another worker: cancel it there, and make every
                # worker refuse it (or stop it, had it started already).
                self._cancel_future(attempt)
                self._send_cancel(None, attempt.key, hard=True)
                self._finish(attempt, Outcome.EXITED, -1, f"worker lost: {address}")
                done.append(attempt)

    # -- sweeps ------------------------------------------------------------------------------
    def _sweep(self, now: float, done: list[DaskAttempt]) -> None:
        if self._client.status != "running":
            if self._lost_since is None:
                self._lost_since = now
            if now - self._lost_since >= SCHEDULER_LOST_AFTER or self._client.status == "closed":
                self._lose_scheduler(self._client.status)
        else:
            self._lost_since = None
        if self.fatal is not None:
            for attempt in list(self._active.values()):
                self._finish(attempt, Outcome.EXITED, -1, self.fatal)
                done.append(attempt)
            return
        for attempt in list(self._active.values()):
            cancel = attempt.cancel
            if cancel is not None and cancel.is_set():
                if attempt.cancel_sent is None or (cancel.hard and not attempt.hard_sent):
                    self._request_cancel(attempt, hard=cancel.hard)
                if attempt.host is None:
                    # Not started on any worker yet: it never will (its future is cancelled).
                    reason = cancel.reason or "cancelled"
                    self._finish(attempt, Outcome.CANCELLED, -1, f"cancelled: {reason}")
                    done.append(attempt)
                    continue
            limit = self._answer_limit(attempt)
            if limit is not None and now >= limit:
                error = (
                    f"cancelled: {cancel.reason}"
                    if cancel is not None and cancel.is_set()
                    else f"worker lost: {attempt.host} stopped answering"
                )
                outcome = Outcome.CANCELLED if error.startswith("cancelled") else Outcome.EXITED
                self._request_cancel(attempt, hard=True)
                self._finish(attempt, outcome, -1, error)
                done.append(attempt)

    def _answer_limit(self, attempt: DaskAttempt) -> float | None:
        """When to stop waiting for a worker that says nothing more about ATTEMPT."""
        if attempt.cancel_sent is not None:
            return attempt.cancel_sent + attempt.spec.kill_grace + UNANSWERED_GRACE
        if attempt.spec.timeout and attempt.host is not None:
            return (
                attempt.started_at
                + attempt.spec.timeout
                + attempt.spec.kill_grace
                + UNANSWERED_GRACE
            )
        return None

    # -- actions -----------------------------------------------------------------------------
    def _request_cancel(self, attempt: DaskAttempt, *, hard: bool) -> None:
        if attempt.cancel_sent is None:
            attempt.cancel_sent = time.monotonic()
        attempt.hard_sent = attempt.hard_sent or hard
        if attempt.host is None:
            # Not known to have started: cancel it at the scheduler, and tell every worker, in
            # case it started without having said so yet (or starts later).
            self._cancel_future(attempt)
            self._send_cancel(None, attempt.key, hard=hard)
        else:
            self._send_cancel(attempt.host, attempt.key, hard=hard)

    def _cancel_future(self, attempt: DaskAttempt) -> None:
        future = attempt.future
        if future is None:
            return
        client = self._client

        async def cancel() -> None:
            try:
                await client._cancel([future])
            except Exception:
                log.debug("cannot cancel Dask future %s", attempt.key, exc_info=True)

        client.loop.add_callback(cancel)

    def _send_cancel(self, host: str | None, key: str, *, hard: bool) -> None:
        """Ask the worker HOST (every worker when None) to stop attempt KEY, without waiting
        for an answer; ``close`` waits (bounded) for what is still on its way."""
        from wf.executor.daskworker import cancel_remote

        client = self._client
        workers = [host] if host else None
        with self._sending_lock:
            self._sending += 1

        async def send() -> None:
            try:
                await client._run(cancel_remote, key, hard, workers=workers, on_error="ignore")
            except Exception:
                log.debug("cannot reach worker %s to cancel %s", host, key, exc_info=True)
            finally:
                with self._sending_lock:
                    self._sending -= 1

        client.loop.add_callback(send)

    def _forget_claims(self) -> None:
        """Drop this run's attempt claims at the scheduler (``daskworker._claim``)."""
        from wf.executor.daskworker import CLAIMS

        client = self._client
        with self._sending_lock:
            self._sending += 1

        async def forget() -> None:
            try:
                await client.scheduler.set_metadata(keys=[CLAIMS, self._topic], value={})
            except Exception:
                log.debug("cannot drop the attempt claims of %s", self._topic, exc_info=True)
            finally:
                with self._sending_lock:
                    self._sending -= 1

        client.loop.add_callback(forget)

    def _lose_scheduler(self, detail: str) -> None:
        if self.fatal is None:
            log.warning("lost the Dask scheduler at %s: %s", self._address, detail)
            self.fatal = SCHEDULER_LOST

    def _finish(
        self,
        attempt: DaskAttempt,
        outcome: Outcome,
        code: int,
        error: str | None,
        *,
        end: float | None = None,
        output: bytes | None = None,
        output_error: str | None = None,
        discarded: int = 0,
        stdout_tail: bytes | None = None,
    ) -> None:
        self._active.pop(attempt.key, None)
        self._over.add(attempt.key)
        attempt.future = None
        sink = attempt.sink
        tail = sink.close()
        sink.warn_if_discarded(log)
        signame = None
        if outcome is Outcome.SIGNALED and error:
            signame = error.rsplit(" ", 1)[-1]
        result = AttemptResult(
            outcome,
            code,
            error,
            attempt.start,
            end if end is not None else time.time(),
            pid=attempt.pid,
            stdout_tail=stdout_tail if stdout_tail is not None else tail,
            output_truncated=sink.discarded + discarded,
            signal=signame,
            host=attempt.host,
            output=output,
            output_error=output_error,
        )
        sink.fill(result)
        attempt.result = result


class DaskRunner:
    """Runs attempts on the Dask cluster whose scheduler is at ADDRESS (docs/dask.md).

    ``security`` is passed to ``distributed.Client`` (TLS settings for ``tls://`` addresses).
    """

    name = "dask"

    def __init__(
        self,
        address: str,
        *,
        security: Any = None,
        connect_timeout: float = CONNECT_TIMEOUT,
        client_factory: Callable[..., Any] | None = None,
    ) -> None:
        self.address = address
        self.security = security
        self.connect_timeout = connect_timeout
        self._client_factory = client_factory

    def open(self) -> DaskSession:
        """Connect to the scheduler; ``RunnerUnavailableError`` when it cannot be reached."""
        distributed = _import_distributed()
        factory = self._client_factory or distributed.Client
        try:
            client = factory(
                self.address,
                timeout=self.connect_timeout,
                set_as_default=False,
                security=self.security,
            )
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise RunnerUnavailableError(
                f"cannot reach the Dask scheduler at {self.address}: {_reason(exc)}"
            ) from None
        try:
            threads = sum(client.nthreads().values())
            if threads == 0:
                client.wait_for_workers(1, timeout=self.connect_timeout)
                threads = sum(client.nthreads().values())
        except Exception as exc:
            client.close(timeout=2)
            raise RunnerUnavailableError(
                f"cannot reach the Dask scheduler at {self.address}: {_reason(exc)}"
            ) from None
        # The client batches what it sends to the scheduler every 10 ms; an attempt's start
        # waits for that on the path from one task to the next. wf sends little: 2 ms is enough.
        comm = getattr(client, "scheduler_comm", None)
        if comm is not None and hasattr(comm, "interval"):
            comm.interval = SUBMIT_INTERVAL
        session = DaskSession(client, self.address)
        session.capacity = max(1, threads) * IN_FLIGHT_PER_THREAD
        return session

    def describe(self) -> dict[str, object]:
        """What the run's ``run_started`` audit records."""
        return {"executor": "dask", "scheduler": self.address}


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if type(exc).__name__ == "TimeoutError" and "workers" in text:
        return "no worker joined the cluster"
    return text.splitlines()[0]


class DaskExecutor(WorkStealingExecutor):
    """Work-stealing over a Dask cluster: the local process schedules, the workers run.

    ``num_workers=None`` means two attempts in flight per worker thread of the cluster at
    start (one running, one queued on the worker).
    """

    def __init__(
        self,
        store: Store,
        scheduler: str,
        num_workers: int | None = None,
        *,
        security: Any = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("runner", DaskRunner(scheduler, security=security))
        super().__init__(store, num_workers if num_workers is not None else 0, **kwargs)
        self.auto_workers = num_workers is None or num_workers <= 0
        self.scheduler_address = scheduler
