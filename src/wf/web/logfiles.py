"""Attempt logs for the web UI: found through the database, confined to ``<logs>/<run_id>/``.

Paths never come from the request: a run, a node and an attempt number select a stored row,
and its ``log_path`` must resolve inside the run's own log directory, or the log is refused.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from wf.files import open_regular_file
from wf.storage import Store, TaskExecution

#: How much of a log a page shows at once (the tail first); earlier chunks load on demand.
CHUNK_BYTES = 64 * 1024


class LogNotFound(LookupError):
    """No such node or attempt in the run, or a log path outside the run's log directory."""


@dataclass(frozen=True)
class Attempts:
    """Every attempt row of one node, oldest first, and the one selected."""

    rows: list[TaskExecution]
    selected: TaskExecution


def node_attempts(store: Store, run_id: str, node_id: str, attempt: int | None) -> Attempts:
    """The attempts of NODE_ID in the run (full ID) and the one numbered ATTEMPT (default: the
    latest). Raises LogNotFound for an unknown node or attempt."""
    rows = store.list_task_executions(run_id=run_id, task_id=node_id)
    if not rows:
        raise LogNotFound(f"task '{node_id}' not found in run '{run_id}'")
    if attempt is None:
        return Attempts(rows, max(rows, key=lambda r: (r.attempt, r.id)))
    chosen = [r for r in rows if r.attempt == attempt]
    if not chosen:
        raise LogNotFound(f"task '{node_id}' has no attempt {attempt} in run '{run_id}'")
    return Attempts(rows, max(chosen, key=lambda r: r.id))


def confined_log_path(logs_dir: Path, row: TaskExecution) -> Path | None:
    """ROW's log file if it lies inside ``<logs>/<run_id>/`` once resolved, else None.

    None also when no log path is recorded. Raises LogNotFound when the recorded path points
    outside the run's log directory (symlinks resolved).
    """
    if not row.log_path:
        return None
    base = Path(os.path.realpath(logs_dir / row.run_id))
    target = Path(os.path.realpath(row.log_path))
    if not target.is_relative_to(base) or target == base:
        raise LogNotFound(f"log of '{row.task_id}' is outside the run's log directory")
    return target


@dataclass(frozen=True)
class LogChunk:
    """A byte range of a log file and the file's size when it was read."""

    data: bytes
    start: int
    size: int

    @property
    def end(self) -> int:
        """The offset just after the chunk."""
        return self.start + len(self.data)


def read_chunk(path: Path | None, offset: int | None, length: int | None) -> LogChunk:
    """LENGTH bytes from OFFSET (both None: the whole file); a negative OFFSET counts from the
    end (the tail first). A missing file reads as empty: an attempt that wrote nothing has
    none; so does anything but a regular file (a FIFO a task left there is never opened
    blocking)."""
    if path is None:
        return LogChunk(b"", 0, 0)
    try:
        with open_regular_file(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            start = 0 if offset is None else offset
            if start < 0:
                start = max(0, size + start)
            start = min(start, size)
            fh.seek(start)
            data = fh.read() if length is None else fh.read(max(0, length))
    except OSError:
        return LogChunk(b"", 0, 0)
    return LogChunk(data, start, max(size, start + len(data)))


@dataclass(frozen=True)
class LogRange:
    """Which bytes of a log a request gets: ``count`` bytes from ``start`` of ``size``."""

    path: Path | None
    start: int
    count: int
    size: int

    def blocks(self, block: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The bytes, a block at a time (a big log is never held in memory whole)."""
        if self.path is None or self.count <= 0:
            return
        try:
            fh = open_regular_file(self.path)  # closed by the generator's finally
        except OSError:
            return
        try:
            fh.seek(self.start)
            left = self.count
            while left > 0:
                data = fh.read(min(block, left))
                if not data:
                    return
                left -= len(data)
                yield data
        finally:
            fh.close()


def log_range(path: Path | None, offset: int | None, length: int | None) -> LogRange:
    """The range of PATH that OFFSET (negative: from the end; None: 0) and LENGTH (None: to the
    end as it is now) select; a missing file is empty, and so is anything but a regular file."""
    try:
        info = None if path is None else os.stat(path)
    except OSError:
        info = None
    size = info.st_size if info is not None and stat.S_ISREG(info.st_mode) else 0
    start = 0 if offset is None else offset
    if start < 0:
        start = max(0, size + start)
    start = min(start, size)
    count = size - start if length is None else min(max(0, length), size - start)
    return LogRange(path if size else None, start, count, size)
