"""Opening the database file: safe file modes and connection pragmas (docs/storage.md)."""

from __future__ import annotations

import os
import sqlite3
import sys
import time
import urllib.parse
from pathlib import Path

BUSY_TIMEOUT_MS = 5000
PAGE_SIZE = 4096
CACHE_KIB = 16 * 1024
MEMORY_PATH = ":memory:"


def prepare_database_file(path: Path) -> None:
    """Create PATH with mode 0600 (and its missing parent directories with mode 0700) before
    SQLite opens it, so the database is never readable by others, not even briefly. An existing
    file keeps its permissions."""
    if path.exists():
        return
    missing: list[Path] = []
    parent = path.parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            continue
        os.chmod(directory, 0o700)  # the umask may have removed bits we need
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        return
    try:
        if sys.platform != "win32":
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL. Switching a new database needs an exclusive lock, and SQLite reports
    "database is locked" at once instead of waiting when another process is opening the same
    new file, so retry for as long as the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL").fetchall()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        else:
            return


def open_connection(path: str) -> sqlite3.Connection:
    """One autocommit connection with the pragmas; callers BEGIN explicitly.

    See docs/storage.md#opening-the-database.
    """
    conn = sqlite3.connect(
        path,
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
        check_same_thread=False,
        cached_statements=256,
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # takes effect on a new database only
        _enable_wal(conn)
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    except BaseException:
        conn.close()
        raise
    return conn


def open_readonly_connection(path: str) -> sqlite3.Connection:
    """An autocommit connection that cannot write: SQLite's ``mode=ro`` URI (the web UI's).

    The file is never created, migrated or switched to another journal mode; a missing file
    raises ``sqlite3.OperationalError``.
    """
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
    conn = sqlite3.connect(
        uri,
        uri=True,
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
        check_same_thread=False,
        cached_statements=256,
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        conn.execute("PRAGMA query_only = ON")
    except BaseException:
        conn.close()
        raise
    return conn
