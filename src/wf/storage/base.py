"""StoreBase: the connection, its lock, transactions, and run-ID resolution (docs/storage.md)."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from wf.storage.connection import (
    MEMORY_PATH,
    open_connection,
    open_readonly_connection,
    prepare_database_file,
)
from wf.storage.errors import AmbiguousRunIdError, RunNotFoundError, SchemaVersionError, StoreError
from wf.storage.models import Run
from wf.storage.queries import prefix_upper_bound
from wf.storage.rows import RUN_COLUMNS, run_from_row
from wf.storage.schema import LATEST_VERSION, current_version, migrate


class _Guard:
    """The lock around every use of the connection (a class: cheaper than @contextmanager on
    the per-task hot path)."""

    __slots__ = ("_store",)

    def __init__(self, store: StoreBase) -> None:
        self._store = store

    def __enter__(self) -> sqlite3.Connection:
        store = self._store
        store._lock.acquire()
        if store._closed:
            store._lock.release()
            raise StoreError("the store is closed")
        return store._conn

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._store._lock.release()
        if isinstance(exc, sqlite3.Error | OverflowError):  # overflow: an int beyond 64 bits
            raise StoreError(f"database error: {exc}") from exc
        if isinstance(exc, UnicodeEncodeError):  # a str holding undecodable bytes (surrogates)
            text = exc.object if isinstance(exc.object, str) else ""
            raise StoreError(
                f"database error: cannot store text that is not valid UTF-8: {text[:200]!r}"
            ) from exc


class StoreBase:
    """One SQLite connection serialised by a re-entrant lock; see ``Store``."""

    def __init__(self, path: str | os.PathLike[str], *, read_only: bool = False) -> None:
        self.path = os.fspath(path)
        self.read_only = read_only
        self._lock = threading.RLock()
        self._depth = 0
        self._closed = False
        self._guard = _Guard(self)
        if read_only:
            self._open_read_only()
            return
        try:
            if self.path != MEMORY_PATH:
                prepare_database_file(Path(self.path))
            self._conn = open_connection(self.path)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open database {self.path}: {exc}") from exc
        try:
            migrate(self._conn)
        except StoreError:
            self._conn.close()
            raise
        except sqlite3.Error as exc:
            self._conn.close()
            raise StoreError(f"cannot initialise database {self.path}: {exc}") from exc

    def _open_read_only(self) -> None:
        """Open an existing, fully migrated database with SQLite's ``mode=ro``: no file is
        created, no migration runs, and every write fails."""
        try:
            self._conn = open_readonly_connection(self.path)
            version = current_version(self._conn)
        except sqlite3.Error as exc:
            if hasattr(self, "_conn"):
                self._conn.close()
            raise StoreError(f"cannot open database {self.path} read-only: {exc}") from exc
        if version != LATEST_VERSION:
            self._conn.close()
            if version > LATEST_VERSION:
                raise SchemaVersionError(version)
            raise StoreError(
                f"cannot open database {self.path} read-only: schema version {version} "
                f"(expected {LATEST_VERSION}; run any wf command to migrate it)"
            )

    def data_version(self) -> int:
        """``PRAGMA data_version``: changes whenever another connection commits to the file."""
        with self._use() as conn:
            return int(conn.execute("PRAGMA data_version").fetchone()[0])

    # -- connection -------------------------------------------------------------------------

    def _use(self) -> _Guard:
        """``with self._use() as conn``: hold the lock; turn sqlite3 errors into StoreError."""
        return self._guard

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block in one write transaction (BEGIN IMMEDIATE ... COMMIT).

        Re-entrant: a nested block joins the outer transaction. Other threads wait for the
        whole block. An exception rolls everything back.
        """
        with self._use() as conn:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._depth = 0
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            self._depth = 0
            if not conn.in_transaction:
                raise StoreError("database error: the transaction was rolled back")
            try:
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Close the connection; later calls raise StoreError. Idempotent."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def ping(self) -> None:
        """Raise StoreError unless the database answers a trivial query."""
        with self._use() as conn:
            conn.execute("SELECT 1").fetchone()

    def _all(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        with self._use() as conn:
            return conn.execute(sql, tuple(params)).fetchall()

    def _one(self, sql: str, params: Iterable[Any] = ()) -> Any:
        with self._use() as conn:
            return conn.execute(sql, tuple(params)).fetchone()

    # -- run IDs ----------------------------------------------------------------------------

    def resolve_run_id(self, prefix: str) -> str:
        """The full ID of the run PREFIX identifies (docs/storage.md#run-ids-and-times): an exact
        match wins, else exactly one run must start with PREFIX, compared literally."""
        if self._one("SELECT 1 FROM runs WHERE id = ?", (prefix,)) is not None:
            return prefix
        if not prefix:
            raise RunNotFoundError(prefix)
        upper = prefix_upper_bound(prefix)
        where = "id >= ?" if upper is None else "id >= ? AND id < ?"
        params = [prefix] if upper is None else [prefix, upper]
        rows = self._all(f"SELECT id FROM runs WHERE {where} ORDER BY id LIMIT 11", params)
        if not rows:
            raise RunNotFoundError(prefix)
        if len(rows) == 1:
            return str(rows[0][0])
        total = int(self._one(f"SELECT COUNT(*) FROM runs WHERE {where}", params)[0])
        raise AmbiguousRunIdError(prefix, [r[0] for r in rows], total)

    def get_run(self, run_id: str) -> Run:
        """The run with this ID or unique prefix. Raises RunNotFoundError/AmbiguousRunIdError."""
        sql = f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?"
        row = self._one(sql, (run_id,))
        if row is None:
            row = self._one(sql, (self.resolve_run_id(run_id),))
            if row is None:  # deleted in between
                raise RunNotFoundError(run_id)
        return run_from_row(row)
