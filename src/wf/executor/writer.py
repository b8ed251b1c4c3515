"""The store writer: engine writes leave the hot path and are committed in batches.

The engine hands each state change to ``submit`` as a function of the store. The engine's
loop commits everything queued as one transaction (group commit) once the oldest operation
has waited ``COMMIT_DELAY`` (``due_at``), or at once with ``flush``; operations are applied
exactly in submission order, while the attempts they describe keep running. No thread of its
own: a writer thread would fight the engine's thread for the interpreter lock on every task.

One rule narrows what a crash can cost: when a node starts while a dependency's completion
is still queued (``holds_done``), the commit is brought forward to ``URGENT_DELAY`` after the
start (``expedite``), so no task runs for long while the successes it builds on are not on
record. (Order alone already keeps the records consistent: a dependent's rows are never
committed before its dependencies' rows.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from wf.storage import Store

log = logging.getLogger("wf.executor")

_REPORTED_FAILURES = 3  # failed writes reported per run; the rest only at debug level

WriteOp = Callable[[Store], object]
COMMIT_DELAY = 0.02  # seconds an operation may wait for others to share its transaction
URGENT_DELAY = 0.002  # seconds, for operations a started dependent relies on
BATCH = 256  # queued operations that make a commit due at once


class StoreWriter:
    """Applies submitted write operations in order, many per transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: list[WriteOp] = []
        self._first_at: float | None = None
        self._lock = threading.Lock()
        self._apply_lock = threading.Lock()
        self._failures = 0
        self._done: set[str] = set()  # nodes whose completion is queued, not committed
        self._urgent_at: float | None = None

    def note_done(self, node_id: str) -> None:
        """NODE_ID's completion (success, skip, reuse, ignored failure) has been queued."""
        self._done.add(node_id)

    def holds_done(self, node_ids: Iterable[str]) -> bool:
        """Whether the completion of any of NODE_IDS is queued but not yet committed."""
        done = self._done
        return bool(done) and any(n in done for n in node_ids)

    def expedite(self) -> None:
        """Commit what is queued ``URGENT_DELAY`` from now, if it would wait longer."""
        if self._first_at is not None:
            urgent = time.monotonic() + URGENT_DELAY
            if self._urgent_at is None or urgent < self._urgent_at:
                self._urgent_at = urgent

    def submit(self, op: WriteOp) -> None:
        """Queue OP; it is applied after everything submitted before it."""
        with self._lock:
            if self._first_at is None:
                self._first_at = time.monotonic()
            self._pending.append(op)

    @property
    def due_at(self) -> float | None:
        """When the queued operations should be committed (``time.monotonic``), or None."""
        first = self._first_at
        if first is None:
            return None
        if len(self._pending) >= BATCH:
            return first
        due = first + COMMIT_DELAY
        urgent = self._urgent_at
        return urgent if urgent is not None and urgent < due else due

    def flush(self) -> None:
        """Commit everything submitted so far, in this thread, before returning."""
        with self._apply_lock:
            with self._lock:
                batch, self._pending = self._pending, []
                self._first_at = None
                self._urgent_at = None
                self._done = set()
            self._apply(batch)

    def flush_if_due(self, now: float) -> None:
        """Commit what is queued when its time has come (see ``due_at``)."""
        due = self.due_at
        if due is not None and now >= due:
            self.flush()

    def close(self) -> None:
        """Commit everything still queued."""
        self.flush()

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
