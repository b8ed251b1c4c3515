"""The store writer: engine writes leave the hot path and are committed in batches.

The engine hands each state change to ``submit`` as a function of the store. Whoever applies
them (the writer thread in the background, or a caller of ``flush``) takes everything queued
so far under one lock and commits it as one transaction (group commit), so operations are
applied exactly in submission order and a task's bookkeeping overlaps with the next task's
process instead of delaying it.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable

from wf.storage import Store

log = logging.getLogger("wf.executor")

_REPORTED_FAILURES = 3  # failed writes reported per run; the rest only at debug level

WriteOp = Callable[[Store], object]
COMMIT_DELAY = 0.005  # seconds the writer waits for more operations before committing
WAKE_BATCH = 256  # operations that wake the writer at once


class StoreWriter:
    """Applies submitted write operations in order, many per transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: collections.deque[WriteOp] = collections.deque()
        self._cond = threading.Condition()
        self._apply_lock = threading.Lock()
        self._closed = False
        self._urgent = False
        self._failures = 0
        self._thread = threading.Thread(target=self._loop, name="wf-writer", daemon=True)
        self._thread.start()

    def submit(self, op: WriteOp) -> None:
        """Queue OP; it is applied after everything submitted before it.

        The writer is woken by the first operation of a batch only (each wake-up is a thread
        switch the engine pays for); it then lets more gather for a few milliseconds, or
        less when a large batch is waiting, and commits them together.
        """
        with self._cond:
            self._pending.append(op)
            if len(self._pending) in (1, WAKE_BATCH):
                self._cond.notify()

    def nudge(self) -> None:
        """Commit what is queued now rather than after the gathering delay (without waiting)."""
        with self._cond:
            self._urgent = True
            self._cond.notify()

    def flush(self) -> None:
        """Commit everything submitted so far, in this thread, before returning."""
        with self._apply_lock:
            self._apply(self._take())

    def close(self) -> None:
        """Flush and stop the background thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()
        self.flush()

    def _take(self) -> list[WriteOp]:
        with self._cond:
            batch = list(self._pending)
            self._pending.clear()
        return batch

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                # Let a few more operations gather: one transaction for all of them.
                if not self._urgent:
                    self._cond.wait(COMMIT_DELAY)
                self._urgent = False
            # Taking and applying under one lock keeps the order with concurrent flushes.
            with self._apply_lock:
                self._apply(self._take())

    def _apply(self, ops: list[WriteOp]) -> None:
        if not ops:
            return
        try:
            with self._store.transaction():
                for op in ops:
                    self._run(op)
        except Exception:
            # The transaction itself failed (e.g. database locked past the busy timeout):
            # retry each operation on its own so one bad write cannot lose the others.
            log.debug("batched write failed; retrying operations one by one", exc_info=True)
            for op in ops:
                self._run(op)

    def _run(self, op: WriteOp) -> None:
        try:
            op(self._store)
        except Exception as exc:
            self._failures += 1
            # A full disk fails every write: report the first few, not hundreds of lines.
            if self._failures <= _REPORTED_FAILURES:
                log.warning("database write failed: %s: %s", type(exc).__name__, exc)
            if self._failures == _REPORTED_FAILURES:
                log.warning("further database write failures of this run are not reported")
            log.debug("write failure", exc_info=True)
