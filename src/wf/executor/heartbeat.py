"""The owner heartbeat: refresh ``heartbeat_at`` every 2 s while a run is live.

See docs/resume.md#interruption-detection.
"""

from __future__ import annotations

import logging
import threading

from wf.storage import Store
from wf.storage.times import now_utc

log = logging.getLogger("wf.executor")
HEARTBEAT_INTERVAL = 2.0


class Heartbeat:
    """A background thread that updates the run's heartbeat until stopped."""

    def __init__(self, store: Store, run_id: str, interval: float = HEARTBEAT_INTERVAL) -> None:
        self._store = store
        self._run_id = run_id
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="wf-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        """Start beating; returns self."""
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._store.update_heartbeat(self._run_id, now_utc())
            except Exception:
                log.exception("heartbeat update failed")

    def stop(self) -> None:
        """Stop and wait for the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
