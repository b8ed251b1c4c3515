"""Live updates: one shared poller of the database, fanned out to every open page as SSE.

However many pages are open, the poller asks the database a few times per second in total: it
checks ``PRAGMA data_version`` (which changes when another connection commits) and only then
reads the runs whose ``updated_at`` moved, plus the attempt rows of the active runs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from wf.history import run_json
from wf.inspection import node_states
from wf.storage import (
    ACTIVE_RUN_STATUSES,
    RunStatus,
    Store,
    StoreError,
    format_time,
    parse_time,
)
from wf.web.db import Database

#: Seconds between two polls of the database (a change is reported within about this long).
POLL_INTERVAL = 0.25
#: How far before the newest seen ``updated_at`` each poll looks again: rows committed late
#: with an earlier timestamp (same millisecond, another process) are still found.
MARGIN = timedelta(seconds=2)
#: Seconds between keep-alive comments on an idle stream.
KEEPALIVE = 15.0
#: Run statuses whose attempt rows are watched.
_WATCHED = {str(s) for s in ACTIVE_RUN_STATUSES} | {str(RunStatus.PENDING)}


@dataclass(frozen=True)
class Event:
    """One server-sent event: ``run`` (a run row changed: the run's JSON) or ``tasks`` (an
    active run's attempts changed: ``{"run_id", "states"}``)."""

    kind: str
    data: dict[str, object]

    def encode(self) -> str:
        """The event in the text/event-stream wire format."""
        payload = json.dumps(self.data, ensure_ascii=False, separators=(",", ":"))
        return f"event: {self.kind}\ndata: {payload}\n\n"


class RunWatcher:
    """The app's one poller; pages subscribe to its events while they are open."""

    def __init__(self, db: Database, *, interval: float = POLL_INTERVAL) -> None:
        self.db = db
        self.interval = interval
        #: Statements sent to the database so far (for measuring; see bench/ui.py).
        self.queries = 0
        #: Poll ticks so far.
        self.polls = 0
        self._subscribers: set[asyncio.Queue[Event]] = set()
        self._task: asyncio.Task[None] | None = None
        self._version: int | None = None
        self._watermark: str | None = None
        self._seen: dict[str, str] = {}
        self._active: dict[str, tuple[int, str] | None] = {}
        self._started_empty = False
        #: Why the last poll could not read the database, if it could not.
        self.error: str | None = None

    @property
    def subscribers(self) -> int:
        """How many streams are open."""
        return len(self._subscribers)

    def subscribe(self) -> asyncio.Queue[Event]:
        """A queue of the events from now on; starts the poller if it is not running."""
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=1000)
        self._subscribers.add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop())
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event]) -> None:
        """Stop delivering to QUEUE (the poller stops with the last subscriber)."""
        self._subscribers.discard(queue)

    async def _loop(self) -> None:
        self._version = None  # a restarted poller takes a fresh baseline
        while self._subscribers:
            events = await asyncio.to_thread(self.poll)
            for event in events:
                for queue in list(self._subscribers):
                    if queue.full():  # a stalled client loses old events, never the poller
                        queue.get_nowait()
                    queue.put_nowait(event)
            await asyncio.sleep(self.interval)

    async def stream(self) -> AsyncIterator[str]:
        """The text/event-stream of one client, until it disconnects."""
        queue = self.subscribe()
        try:
            yield "retry: 2000\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), KEEPALIVE)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield event.encode()
        finally:
            self.unsubscribe(queue)

    # -- one poll (runs in a worker thread) ------------------------------------------------

    def poll(self) -> list[Event]:
        """Check the database once; the events of what changed since the last check.

        A database that cannot be read (not migrated yet, being replaced) yields no events
        and is tried again at the next poll.
        """
        try:
            return self._poll()
        except StoreError as exc:
            self.error = str(exc)
            self._version = None
            return []

    def _poll(self) -> list[Event]:
        self.error = None
        store = self.db.optional()
        self.polls += 1
        if store is None:
            self._started_empty = True
            return []
        self.queries += 1
        version = store.data_version()
        if self._version is None:
            self._version = version
            if self._started_empty:  # everything in a database that appeared is news
                self._watermark = ""
            else:
                return self._baseline(store)
        elif version == self._version:
            return []
        self._version = version
        return self._changes(store)

    def _baseline(self, store: Store) -> list[Event]:
        self.queries += 3
        self._watermark = store.latest_run_update() or ""
        # Rows inside the margin are looked at again by the next poll: remember them as seen,
        # or every run of the last seconds would be reported as changed.
        self._seen = {
            run.id: format_time(run.updated_at)
            for run in store.runs_updated_since(self._since())
            if run.updated_at is not None
        }
        self._active = dict.fromkeys(self._active_runs(store))
        self._active.update(store.task_activity(list(self._active)))
        return []

    def _active_runs(self, store: Store) -> list[str]:
        ids: list[str] = []
        for status in sorted(_WATCHED):
            self.queries += 1
            ids += [r.id for r in store.list_runs(status=status)]
        return ids

    def _changes(self, store: Store) -> list[Event]:
        events: list[Event] = []
        since = self._since()
        self.queries += 1
        newest = self._watermark or ""
        for run in store.runs_updated_since(since):
            stamp = "" if run.updated_at is None else format_time(run.updated_at)
            newest = max(newest, stamp)
            if self._seen.get(run.id) != stamp:
                self._seen[run.id] = stamp
                events.append(Event("run", run_json(run)))
            if str(run.status) in _WATCHED or run.id in self._active:
                self._active.setdefault(run.id, None)
        self._watermark = newest
        floor = self._since()
        self._seen = {k: v for k, v in self._seen.items() if v >= floor}
        if self._active:
            self.queries += 1
            activity = store.task_activity(list(self._active))
            for run_id in list(self._active):
                mark = activity.get(run_id)
                if mark is not None and mark != self._active[run_id]:
                    self.queries += 2
                    states = node_states(store, run_id)
                    events.append(Event("tasks", {"run_id": run_id, "states": states}))
                self._active[run_id] = mark
        finished = {
            str(e.data["id"])
            for e in events
            if e.kind == "run" and e.data["status"] not in _WATCHED
        }
        for done in finished:
            self._active.pop(done, None)
        return events

    def _since(self) -> str:
        if not self._watermark:
            return ""
        moment = parse_time(self._watermark)
        return "" if moment is None else format_time(moment - MARGIN)
