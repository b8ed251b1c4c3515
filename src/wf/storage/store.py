"""The Store: the wf database (docs/storage.md), assembled from its method groups."""

from __future__ import annotations

from wf.storage.cache import StoreCache
from wf.storage.ownership import StoreOwnership
from wf.storage.reads import StoreReads
from wf.storage.writes import StoreWrites


class Store(StoreReads, StoreWrites, StoreOwnership, StoreCache):
    """The wf database. Thread-safe: one connection, serialised by a re-entrant lock.

    The file and its tables are described in docs/storage.md.

    ``Store(path)`` creates the file (0600, in a 0700 directory) and applies migrations.
    Single-statement writes commit on their own; ``transaction()`` groups several into one
    commit. Run-ID arguments of read methods accept unique prefixes; write methods take full IDs.
    ``Store(path, read_only=True)`` opens an existing database that cannot be written (``mode=ro``).
    """
