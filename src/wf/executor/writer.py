"""The store writer: engine writes leave the hot path and are committed in batches.

The engine hands each state change to ``submit`` as a function of the store. One thread
applies them in submission order, grouping whatever is queued into one transaction (group
commit), so a task's bookkeeping overlaps with the next task's process instead of delaying it.
``flush`` waits until everything submitted so far is committed.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from wf.storage import Store

log = logging.getLogger("wf.executor")

WriteOp = Callable[[Store], object]
MAX_BATCH = 512


class StoreWriter:
    """Applies submitted write operations in order, many per transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._queue: queue.SimpleQueue[WriteOp | threading.Event | None] = queue.SimpleQueue()
        self._failures = 0
        self._thread = threading.Thread(target=self._loop, name="wf-writer", daemon=True)
        self._thread.start()

    @property
    def failures(self) -> int:
        """How many operations raised (each was logged)."""
        return self._failures

    def submit(self, op: WriteOp) -> None:
        """Queue OP; it runs on the writer thread, after everything submitted before it."""
        self._queue.put(op)

    def flush(self) -> None:
        """Block until every operation submitted so far has been committed."""
        done = threading.Event()
        self._queue.put(done)
        done.wait()

    def close(self) -> None:
        """Flush and stop the thread."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            batch: list[WriteOp | threading.Event | None] = [item]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            ops = [op for op in batch if callable(op) and not isinstance(op, threading.Event)]
            if ops:
                self._apply(ops)
            for marker in batch:
                if isinstance(marker, threading.Event):
                    marker.set()
            if any(marker is None for marker in batch):
                return

    def _apply(self, ops: list[WriteOp]) -> None:
        try:
            with self._store.transaction():
                for op in ops:
                    self._run(op)
        except Exception:
            # The transaction itself failed (e.g. database locked past the busy timeout):
            # retry each operation on its own so one bad write cannot lose the others.
            log.exception("batched write failed; retrying operations one by one")
            for op in ops:
                self._run(op)

    def _run(self, op: WriteOp) -> None:
        try:
            op(self._store)
        except Exception as exc:
            self._failures += 1
            log.warning("database write failed: %s: %s", type(exc).__name__, exc)
            log.debug("write failure", exc_info=True)
