"""Per-invocation state of one execute or resume: node results, attempt numbers, latches."""

from __future__ import annotations

import codecs
import enum
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wf.contextmap import ContextMap, Variable
from wf.dag.model import DAG
from wf.executor.cancel import CancelScope
from wf.executor.events import EventDispatcher, ProgressEvent, ProgressEventKind
from wf.executor.writer import StoreWriter
from wf.files import open_regular_file
from wf.jsontext import compact_dumps
from wf.secrets import Masker
from wf.storage import ContextSnapshot, ExecutionMode, Store, TaskExecution
from wf.storage.times import now_utc
from wf.telemetry import trace_sink, tracing_enabled

if TYPE_CHECKING:
    from wf.executor.cache import RunCache

log = logging.getLogger("wf.executor")

OUTPUT_EVENT_BYTES = 65536
_COMPACT_JSON = compact_dumps()


class NodeStatus(enum.StrEnum):
    """How one node execution ended."""

    SUCCESS = "success"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REUSED = "reused"
    CACHED = "cached"


@dataclass
class NodeResult:
    """The outcome of one node in this invocation."""

    node_id: str
    status: NodeStatus
    ignored: bool = False
    attempts: int = 0
    error: str | None = None
    end_time: datetime | None = None
    exit_code: int | None = None
    log_path: str | None = None
    #: The first bytes of the final attempt's log (see ``AttemptResult.log_head``).
    log_head: bytes = b""
    early: bool = False

    @property
    def completed(self) -> bool:
        """Counts as completed for dependents: success, skip, reuse, or an ignored failure."""
        if self.status in (
            NodeStatus.SUCCESS,
            NodeStatus.SKIPPED,
            NodeStatus.REUSED,
            NodeStatus.CACHED,
        ):
            return True
        return self.status is NodeStatus.FAILED and self.ignored

    @property
    def fails_run(self) -> bool:
        """A non-ignored final failure."""
        return self.status is NodeStatus.FAILED and not self.ignored


@dataclass
class EngineSettings:
    """Settings shared by every run of an executor."""

    logs_dir: Path
    kill_grace: float = 5.0
    log_max_bytes: int = 64 * 1024 * 1024
    on_failure_hook: str | None = None


@dataclass
class RunState:
    """Everything one invocation (execute or resume) keeps about its run.

    Used from the engine's thread only (the loop, the lifecycles it drives, the writer's
    commits), so it takes no locks.
    """

    store: Store
    dag: DAG
    ctx: ContextMap
    run_id: str
    workflow_name: str
    mode: ExecutionMode
    settings: EngineSettings
    events: EventDispatcher
    writer: StoreWriter
    run_cancel: CancelScope
    failfast: CancelScope
    print_output: bool = False
    clean_env: bool = False
    resuming: bool = False
    previous: dict[str, TaskExecution] = field(default_factory=dict)
    forced: set[str] = field(default_factory=set)
    forced_by: str = ""
    results: dict[str, NodeResult] = field(default_factory=dict)
    on_final_failure: Callable[[str], None] | None = None
    #: Applies the caller's cancel event and the run deadline (set by the scheduler loop).
    external_check: Callable[[], None] | None = None
    #: Why the attempt runner itself is gone (e.g. ``dask scheduler lost``): the run fails.
    runner_error: str | None = None
    base_env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    run_log_dir: str = ""
    #: Whether the run is traced (docs/otel.md): each attempt then gets a TRACEPARENT.
    traced: bool = False
    #: The run's secret values, masked in logs, events and records (docs/secrets.md).
    masker: Masker = field(default_factory=Masker)
    #: Declared secrets given to every task's environment.
    secret_env: dict[str, str] = field(default_factory=dict)
    #: Incremental runs (docs/caching.md): the run's cache decisions, None without a cache.
    cache: RunCache | None = None
    _attempts: dict[str, int] = field(default_factory=dict)
    _fired_traps: set[str] = field(default_factory=set)
    _queued_rows: set[int] = field(default_factory=set)
    _snapshot_marks: dict[str, tuple[str, object]] = field(default_factory=dict)
    #: Position in the context's change log up to which every variable's mark is current
    #: (None: compare them all at the next snapshot).
    _ctx_seen: int | None = None

    def __post_init__(self) -> None:
        if not self.run_log_dir:
            # Created (0700, with any missing parent) by the first attempt that needs it.
            self.run_log_dir = os.path.join(self.settings.logs_dir, self.run_id)
        if tracing_enabled(self.base_env):
            sink = trace_sink(self.workflow_name)
            if sink is not None:
                self.events.add_listener(sink)
                self.traced = True

    # -- attempt numbers and trap latch -------------------------------------------------
    def seed_attempts(self, highest: dict[str, int]) -> None:
        """Continue attempt numbering from a previous invocation."""
        self._attempts.update(highest)

    def next_attempt(self, node_id: str) -> int:
        """One more than the highest attempt of NODE_ID in this run."""
        n = self._attempts.get(node_id, 0) + 1
        self._attempts[node_id] = n
        return n

    def claim_trap(self, trap_id: str) -> bool:
        """True the first time TRAP_ID fires in this invocation."""
        if trap_id in self._fired_traps:
            return False
        self._fired_traps.add(trap_id)
        return True

    # -- records ---------------------------------------------------------------------------
    def emit(self, kind: ProgressEventKind, **fields: Any) -> None:
        """Queue a progress event of this run (nothing is built when no one listens)."""
        if self.events.active:
            if self.masker:  # the texts; the IDs stay as they are, to name the task
                text = self.masker.text
                fields = {
                    k: text(v) if isinstance(v, str) and k != "task_id" else v
                    for k, v in fields.items()
                }
            self.events.emit(ProgressEvent(kind=kind, run_id=self.run_id, **fields))

    def audit(self, event_type: str, data: dict[str, Any]) -> None:
        """Queue an audit entry; a failed write is logged and never fails the run."""
        self.writer.audit(self.run_id, event_type, _COMPACT_JSON(data))

    def queue_row_write(self, row: TaskExecution, write: Callable[[Store], object]) -> None:
        """Queue WRITE of ROW unless a write of ROW is already queued.

        A queued write reads ROW's fields when the writer applies it, so it carries every
        change made before then: one statement instead of one per state change (a fast task's
        pending, running and success states often become a single INSERT). The queued mark is
        cleared before the fields are read, so a change made after that queues a new write.
        """
        key = id(row)
        if key in self._queued_rows:
            return
        self._queued_rows.add(key)

        def op(store: Store) -> None:
            self._queued_rows.discard(key)
            write(store)

        self.writer.submit(op)

    def forensic_log(
        self,
        task_id: str | None,
        log_type: str,
        data: str,
        triggered_by: str | None,
        reason: str | None,
    ) -> None:
        """Queue a ``forensic_logs`` row of LOG_TYPE."""
        run_id = self.run_id
        self.writer.submit(
            lambda store: store.create_forensic_log(
                run_id,
                log_type,
                data,
                task_id=task_id,
                triggered_by=triggered_by,
                trigger_reason=reason,
            )
        )

    def snapshot(self, snapshot_type: str, *, full: bool) -> None:
        """Write a snapshot batch (docs/storage.md#variable-snapshots).

        ``full`` writes every variable; otherwise only variables set since the last snapshot
        (restores read the newest row per name, so the restored context is the same). Only the
        variables set or restored since the last call are looked at (after a success that set
        nothing, none): every variable's mark was brought up to date then.
        """
        variables, self._ctx_seen = self.ctx.changes(None if full else self._ctx_seen)
        if not variables:
            return
        if full:
            changed = variables
        else:
            changed = [v for v in variables if self._snapshot_marks.get(v.name) != _mark(v)]
        for v in changed:
            self._snapshot_marks[v.name] = _mark(v)
        if not changed:
            return
        at = now_utc()
        rows = [
            ContextSnapshot(
                run_id=self.run_id,
                snapshot_time=at,
                snapshot_type=snapshot_type,
                variable_name=v.name,
                variable_value=v.text,
                variable_type=v.type,
                set_by_task=v.owner,
                set_at=v.set_at,
                is_read_only=v.read_only,
            )
            for v in changed
        ]
        self.writer.submit(lambda store: store.create_context_snapshots(rows))

    def mark_snapshotted(self, variables: list[Variable]) -> None:
        """Remember VARIABLES as already stored (restored on resume)."""
        for v in variables:
            self._snapshot_marks[v.name] = _mark(v)
        self._ctx_seen = None  # the next snapshot compares every variable with its mark


def _mark(v: Variable) -> tuple[str, object]:
    return (v.owner, (v.type, v.value, v.set_at))


def output_head(data: bytes) -> tuple[str, bool]:
    """The first 64 KiB of DATA (a log's beginning), decoded with replacement at a character
    boundary, and whether DATA went on."""
    truncated = len(data) > OUTPUT_EVENT_BYTES
    # An incremental decoder holds back a character cut in half at the 64 KiB boundary.
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    text = decoder.decode(data[:OUTPUT_EVENT_BYTES], final=not truncated)
    return text, truncated


def tail_text(data: bytes, count: int = 10) -> str:
    """The last COUNT lines of DATA (a log's end)."""
    lines = data.decode("utf-8", errors="replace").splitlines()
    return "\n".join(lines[-count:])


def tail_lines(log_path: str | None, count: int = 10) -> str | None:
    """The last COUNT lines of a log file ("" for a missing file: the attempt printed nothing),
    or None when none is recorded or it cannot be read."""
    if not log_path:
        return None
    try:
        with open_regular_file(log_path) as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read()
    except FileNotFoundError:
        return ""
    except OSError:
        return None
    lines = data.decode("utf-8", errors="replace").splitlines()
    return "\n".join(lines[-count:])
