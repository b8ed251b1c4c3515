"""The web UI's database: one read-only store, opened on first use (it may not exist yet)."""

from __future__ import annotations

import threading
from pathlib import Path

from wf.storage import Store, StoreError


class NoDatabase(StoreError):
    """The database does not exist yet (or is not fully set up): there is nothing to show."""


class Database:
    """A lazily opened ``Store(path, read_only=True)`` shared by every request.

    A missing file is not an error: the UI shows an empty history until a first ``wf`` command
    creates the database, then opens it. Nothing here can write to the file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._store: Store | None = None
        self._lock = threading.Lock()

    def store(self) -> Store:
        """The open store; raises NoDatabase while the file is missing or unmigrated."""
        store = self._store
        if store is not None:
            return store
        with self._lock:
            if self._store is None:
                if not self.path.is_file():
                    raise NoDatabase(f"no database at {self.path} yet")
                try:
                    self._store = Store(self.path, read_only=True)
                except StoreError as exc:
                    if "schema version 0" in str(exc):
                        raise NoDatabase(f"the database at {self.path} is not set up yet") from exc
                    raise
            return self._store

    def optional(self) -> Store | None:
        """The open store, or None while there is none."""
        try:
            return self.store()
        except NoDatabase:
            return None

    def close(self) -> None:
        """Close the store if it was opened."""
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
