"""Progress events and their in-order delivery on a dedicated thread.

See docs/api.md#follow-progress.
"""

from __future__ import annotations

import collections
import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

log = logging.getLogger("wf.executor")


class ProgressEventKind(enum.StrEnum):
    """The kinds of progress event."""

    RUN_STARTED = "run_started"
    TASK_STARTED = "task_started"
    TASK_RETRYING = "task_retrying"
    TASK_DONE = "task_done"
    TASK_OUTPUT = "task_output"
    TASK_FAILED = "task_failed"
    TASK_SKIPPED = "task_skipped"
    TASK_REUSED = "task_reused"  # resume: a success kept from an earlier run (status "success")
    RUN_DONE = "run_done"


@dataclass(frozen=True)
class ProgressEvent:
    """One progress event; fields that do not apply are None, 0 or False."""

    kind: ProgressEventKind
    run_id: str
    task_id: str | None = None
    task_name: str | None = None
    status: str | None = None
    run_status: str | None = None
    attempt: int = 0
    error: str | None = None
    output: str | None = None
    truncated: bool = False
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    reason: str | None = None
    delay: float = 0.0
    #: The exit code of the attempt that just ended (task_retrying, task_done, task_failed).
    exit_code: int | None = None


ProgressCallback = Callable[[ProgressEvent], object]

GATHER_DELAY = 0.01  # seconds the delivery thread lets events gather before handing them over


class EventDispatcher:
    """Queues events and hands them to the callback one at a time, in emission order.

    A slow callback never blocks the engine; exceptions it raises are logged and ignored.
    The delivery thread wakes once per batch (events gather for ``GATHER_DELAY``), not once per
    event: each wake-up would cost the engine a switch of the interpreter lock. A callback with
    a ``flush()`` method has it called after each batch (e.g. to write its lines at once).
    ``close()`` returns once every queued event has been delivered.
    """

    def __init__(self, callback: ProgressCallback | None) -> None:
        self._callback = callback
        self._items: collections.deque[ProgressEvent] = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        if callback is not None:
            self._thread = threading.Thread(target=self._deliver, name="wf-events", daemon=True)
            self._thread.start()

    def add_listener(self, callback: ProgressCallback) -> None:
        """Also hand every event to CALLBACK (e.g. a trace sink); call before the first event."""
        self._callback = callback if self._callback is None else _Tee(self._callback, callback)
        if self._thread is None:
            self._thread = threading.Thread(target=self._deliver, name="wf-events", daemon=True)
            self._thread.start()

    @property
    def active(self) -> bool:
        """Whether events are delivered to anyone (if not, callers need not build them)."""
        return self._thread is not None

    def emit(self, event: ProgressEvent) -> None:
        """Queue EVENT for delivery (no-op without a callback)."""
        if self._thread is not None:
            with self._cond:
                self._items.append(event)
                if len(self._items) == 1:
                    self._cond.notify()

    def _deliver(self) -> None:
        assert self._callback is not None
        while True:
            with self._cond:
                while not self._items and not self._closed:
                    self._cond.wait()
                if not self._items:
                    return  # closed, and everything delivered
                if not self._closed:
                    self._cond.wait(GATHER_DELAY)  # close() cuts this short
                batch = list(self._items)
                self._items.clear()
            for item in batch:
                self._guarded(self._callback, item)
            flush = getattr(self._callback, "flush", None)
            if callable(flush):
                self._guarded(flush)

    @staticmethod
    def _guarded(function: Callable[..., object], *args: object) -> None:
        """Call FUNCTION; an exception is logged and ignored (the engine carries on)."""
        try:
            function(*args)
        except Exception as exc:
            log.warning("progress callback raised %s: %s (event ignored)", type(exc).__name__, exc)
            log.debug("progress callback traceback", exc_info=True)

    def close(self) -> None:
        """Deliver everything queued, then stop the thread."""
        if self._thread is not None:
            with self._cond:
                self._closed = True
                self._cond.notify()
            self._thread.join()
            self._thread = None


class _Tee:
    """Two callbacks as one: each gets every event, and a failure of one spares the other."""

    def __init__(self, first: ProgressCallback, second: ProgressCallback) -> None:
        self._callbacks = (first, second)

    def __call__(self, event: ProgressEvent) -> None:
        for callback in self._callbacks:
            EventDispatcher._guarded(callback, event)

    def flush(self) -> None:
        for callback in self._callbacks:
            flush = getattr(callback, "flush", None)
            if callable(flush):
                EventDispatcher._guarded(flush)
