"""Store methods of incremental runs (docs/caching.md): cache records, file hashes, hits."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from wf.secrets import mask_params
from wf.storage.base import StoreBase
from wf.storage.rows import dump_json
from wf.storage.times import format_time, now_utc, parse_time

if TYPE_CHECKING:
    from wf.storage.cacherows import CacheHead, CacheHit, CacheRecord

__all__ = ["CacheHead", "CacheHit", "CacheRecord", "FileStat", "StoreCache"]

_RECORD_COLUMNS = (
    "workflow_name, node_id, cache_key, command_digest, read_variables, input_manifest, "
    "output_manifest, variables, run_id, created_at, identities"
)
_HEAD_COLUMNS = "node_id, cache_key, command_digest, read_variables, variables, run_id, identities"
_HIT_COLUMNS = "id, run_id, task_id, task_name, cache_key, source_run_id, fingerprint, created_at"

#: A file's identity for the hash cache: (size, mtime_ns, ctime_ns, inode).
FileStat = tuple[int, int, int, int]


def __getattr__(name: str) -> Any:
    """The row classes, defined in ``wf.storage.cacherows``: imported on first use, so that a
    run without cached nodes does not build them (start-up time)."""
    if name in ("CacheHead", "CacheHit", "CacheRecord"):
        from wf.storage import cacherows

        return getattr(cacherows, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _record(row: Sequence[Any]) -> CacheRecord:
    from wf.storage.cacherows import CacheRecord

    return CacheRecord(
        workflow_name=row[0],
        node_id=row[1],
        cache_key=row[2],
        command_digest=row[3],
        read_variables=json.loads(row[4]),
        input_manifest=json.loads(row[5]),
        output_manifest=json.loads(row[6]),
        variables=json.loads(row[7]),
        run_id=row[8],
        created_at=parse_time(row[9]),
        identities=row[10],
    )


def _json(text: str) -> Any:
    # Most nodes read and register no variable: skip the decoder for the empty values.
    if text == "{}":
        return {}
    if text == "[]":
        return []
    return json.loads(text)


class StoreCache(StoreBase):
    """Cache methods of ``Store``."""

    def cache_records(self, workflow_name: str) -> dict[str, CacheRecord]:
        """Every cache record of WORKFLOW_NAME, by node ID (one query per run)."""
        rows = self._all(
            f"SELECT {_RECORD_COLUMNS} FROM task_cache WHERE workflow_name = ?",
            (workflow_name,),
        )
        return {row[1]: _record(row) for row in rows}

    def cache_heads(self, workflow_name: str) -> dict[str, CacheHead]:
        """The records of WORKFLOW_NAME without their manifests, by node ID (one query)."""
        rows = self._all(
            f"SELECT {_HEAD_COLUMNS} FROM task_cache WHERE workflow_name = ?", (workflow_name,)
        )
        if not rows:
            return {}
        from wf.storage.cacherows import CacheHead

        return {
            row[0]: CacheHead(
                node_id=row[0],
                cache_key=row[1],
                command_digest=row[2],
                read_variables=_json(row[3]),
                variables=_json(row[4]),
                run_id=row[5],
                identities=row[6],
            )
            for row in rows
        }

    def cache_record(self, workflow_name: str, node_id: str) -> CacheRecord | None:
        """The whole record of one node, or None."""
        row = self._one(
            f"SELECT {_RECORD_COLUMNS} FROM task_cache WHERE workflow_name = ? AND node_id = ?",
            (workflow_name, node_id),
        )
        return None if row is None else _record(row)

    def put_cache_record(self, record: CacheRecord) -> None:
        """Insert RECORD, replacing the node's earlier record (one statement: atomic)."""
        created = format_time(record.created_at or now_utc())
        params = (
            record.workflow_name,
            record.node_id,
            record.cache_key,
            record.command_digest,
            dump_json(record.read_variables),
            dump_json(record.input_manifest),
            dump_json(record.output_manifest),
            dump_json(record.variables),
            record.run_id,
            created,
            record.identities,
        )
        if mask_params(params) != params:
            # A record holding a secret (docs/secrets.md) is not kept: a cache hit would restore
            # *** instead of the value, and the value itself must not be stored.
            return
        marks = ", ".join("?" * len(params))
        with self._use() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO task_cache ({_RECORD_COLUMNS}) VALUES ({marks})", params
            )

    def refresh_cache_record(self, record: CacheRecord) -> bool:
        """Update the manifests of RECORD (file identities only) unless a newer success has
        replaced the record meanwhile; True if it was updated."""
        with self._use() as conn:
            cursor = conn.execute(
                "UPDATE task_cache SET input_manifest = ?, output_manifest = ?, identities = ? "
                "WHERE workflow_name = ? AND node_id = ? AND cache_key = ? AND run_id = ?",
                (
                    dump_json(record.input_manifest),
                    dump_json(record.output_manifest),
                    record.identities,
                    record.workflow_name,
                    record.node_id,
                    record.cache_key,
                    record.run_id,
                ),
            )
        return cursor.rowcount > 0

    def clear_cache(self, workflow_name: str | None = None) -> int:
        """Delete the cache records of WORKFLOW_NAME (all workflows when None) and, for all
        workflows, the content-hash cache; return how many records were deleted."""
        with self.transaction(), self._use() as conn:
            if workflow_name is None:
                count = conn.execute("DELETE FROM task_cache").rowcount
                conn.execute("DELETE FROM file_hashes")
            else:
                count = conn.execute(
                    "DELETE FROM task_cache WHERE workflow_name = ?", (workflow_name,)
                ).rowcount
        return int(count)

    def cache_stats(self) -> dict[str, int]:
        """``records``, ``workflows``, ``file_hashes`` and ``bytes`` (the stored JSON size)."""
        row = self._one(
            "SELECT COUNT(*), COUNT(DISTINCT workflow_name), COALESCE(SUM(length(input_manifest)"
            " + length(output_manifest) + length(variables) + length(read_variables)), 0)"
            " FROM task_cache"
        )
        hashes = self._one("SELECT COUNT(*) FROM file_hashes")
        return {
            "records": int(row[0]),
            "workflows": int(row[1]),
            "file_hashes": int(hashes[0]),
            "bytes": int(row[2]),
        }

    def file_hash(self, path: str, stat: FileStat) -> str | None:
        """The stored SHA-256 of PATH if its stored identity equals STAT, else None."""
        row = self._one(
            "SELECT size, mtime_ns, ctime_ns, inode, sha256 FROM file_hashes WHERE path = ?",
            (path,),
        )
        if row is None or tuple(row[:4]) != tuple(stat):
            return None
        return str(row[4])

    def put_file_hashes(self, entries: Iterable[tuple[str, FileStat, str]]) -> None:
        """Store (path, stat, sha256) entries, replacing what was known of each path."""
        params = [(path, *stat, digest) for path, stat, digest in entries]
        if not params:
            return
        with self._use() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO file_hashes (path, size, mtime_ns, ctime_ns, inode, sha256)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                params,
            )

    def create_cache_hit(self, hit: CacheHit) -> int:
        """Insert a ``cached`` outcome of a node in a run (the trigger counts it)."""
        created = format_time(hit.created_at or now_utc())
        with self._use() as conn:
            row_id = conn.execute(
                "INSERT INTO task_cache_hits (run_id, task_id, task_name, cache_key, "
                "source_run_id, fingerprint, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    hit.run_id,
                    hit.task_id,
                    hit.task_name,
                    hit.cache_key,
                    hit.source_run_id,
                    hit.fingerprint,
                    created,
                ),
            ).lastrowid
        hit.id = int(row_id or 0)
        return hit.id

    def list_cache_hits(self, run_id: str) -> list[CacheHit]:
        """The ``cached`` outcomes of RUN_ID (a full ID), in insertion order."""
        rows = self._all(
            f"SELECT {_HIT_COLUMNS} FROM task_cache_hits WHERE run_id = ? ORDER BY id", (run_id,)
        )
        if not rows:
            return []
        from wf.storage.cacherows import CacheHit

        return [
            CacheHit(
                id=row[0],
                run_id=row[1],
                task_id=row[2],
                task_name=row[3],
                cache_key=row[4],
                source_run_id=row[5],
                fingerprint=row[6],
                created_at=parse_time(row[7]),
            )
            for row in rows
        ]
