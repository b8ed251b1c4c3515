"""The store writer: engine writes leave the hot path and are committed in batches.

The engine hands each state change to ``submit`` as a function of the store. The engine's
loop commits everything queued as one transaction (group commit) once the oldest operation
has waited ``COMMIT_DELAY`` (``due_at``), or at once with ``flush``; operations are applied
exactly in submission order, while the attempts they describe keep running. No thread of its
own: a writer thread would fight the engine's thread for the interpreter lock on every task.

One more rule keeps running tasks on record: when an attempt starts (``attempt_started``),
everything queued is committed at once (its own running row and the results it builds on
included), unless the node is known to be quick (``learn``: its recent successes took less
than ``START_DELAY``), when that happens only if it is still running ``START_DELAY`` later;
quick attempts usually end first and share the batch. (Order alone already keeps the records
consistent: a dependent's rows are never committed before its dependencies' rows.) The
engine only asks when the next commit is due (``due_at``) and lets it happen
(``flush_if_due``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from wf.storage import Store

if TYPE_CHECKING:
    from wf.executor.runner import AttemptHandle

log = logging.getLogger("wf.executor")

_REPORTED_FAILURES = 3  # failed writes reported per run; the rest only at debug level

WriteOp = Callable[[Store], object]
COMMIT_DELAY = 0.02  # seconds an operation may wait for others to share its transaction
START_DELAY = 0.005  # seconds an attempt may run before its start must be on record
BATCH = 256  # queued operations that make a commit due at once


def quick_nodes(durations: Mapping[str, float]) -> frozenset[str]:
    """The nodes whose median successful attempt (DURATIONS, seconds) took under
    ``START_DELAY``: their starts may wait for the batch."""
    return frozenset(node for node, seconds in durations.items() if seconds < START_DELAY)


class StoreWriter:
    """Applies submitted write operations in order, many per transaction.

    Used from the engine's thread only, like the ``RunState`` that holds it: no locks.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: list[WriteOp] = []
        # Audit entries (run_id, event_type, event_data) queued since the last commit: one
        # statement for all of them, in the same transaction as the operations.
        self._audits: list[tuple[str, str, str]] = []
        self._first_at: float | None = None
        self._failures = 0
        #: Nodes known to finish within ``START_DELAY`` (see ``learn``).
        self.quick: frozenset[str] = frozenset()
        # Attempts started since the last commit, with the time by which one still running
        # must be on record.
        self._unrecorded: list[tuple[float, AttemptHandle]] = []

    def learn(self, durations: Mapping[str, float]) -> None:
        """Take the workflow's history (median successful seconds per node) into account."""
        self.quick = quick_nodes(durations)

    def attempt_started(self, node_id: str, attempt: AttemptHandle) -> None:
        """ATTEMPT of NODE_ID has started: its start must be on record while it runs."""
        delay = START_DELAY if node_id in self.quick else 0.0
        self._unrecorded.append((time.monotonic() + delay, attempt))

    def _start_due(self) -> float | None:
        """When the started attempts not yet on record must be (those still running)."""
        if not self._unrecorded:
            return None
        self._unrecorded = [entry for entry in self._unrecorded if entry[1].result is None]
        return min((due for due, _ in self._unrecorded), default=None)

    def submit(self, op: WriteOp) -> None:
        """Queue OP; it is applied after everything submitted before it."""
        if self._first_at is None:
            self._first_at = time.monotonic()
        self._pending.append(op)

    def audit(self, run_id: str, event_type: str, event_data: str) -> None:
        """Queue an audit entry; it is committed with the operations queued around it (audit
        entries keep their order among themselves)."""
        if self._first_at is None:
            self._first_at = time.monotonic()
        self._audits.append((run_id, event_type, event_data))

    @property
    def due_at(self) -> float | None:
        """When the next commit is due (``time.monotonic``), or None: the queued operations'
        batch time, or earlier when a started attempt must be on record."""
        start_due = self._start_due()
        first = self._first_at
        if first is None:
            return start_due
        queued = len(self._pending) + len(self._audits)
        batch_due = first if queued >= BATCH else first + COMMIT_DELAY
        return batch_due if start_due is None else min(batch_due, start_due)

    def flush(self) -> None:
        """Commit everything submitted so far before returning."""
        batch, self._pending = self._pending, []
        audits, self._audits = self._audits, []
        self._first_at = None
        self._unrecorded.clear()  # everything started so far is on record after this
        if audits:
            batch.append(lambda store: store.create_audit_entries(audits))
        self._apply(batch)

    def flush_if_due(self, now: float) -> bool:
        """Commit what is queued when its time has come (see ``due_at``); True if it did."""
        due = self.due_at
        if due is not None and now >= due:
            self.flush()
            return True
        return False

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
