"""The rows of incremental runs (docs/caching.md): cache records, their heads, cache hits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wf.storage.times import format_optional


@dataclass(slots=True)
class CacheRecord:
    """One ``task_cache`` row: what a node's last success read, wrote and registered.

    The manifests map a path (as matched, relative to the working directory) to
    ``[size, sha256, stat]``, where ``stat`` is ``[size, mtime_ns, ctime_ns, inode]`` when
    it can be trusted for a later stat-only check, else null. ``read_variables`` maps each
    variable the node reads to its value; ``variables`` lists the variables the node
    registered as ``{name, value, type}``.
    """

    workflow_name: str
    node_id: str
    cache_key: str
    command_digest: str
    read_variables: dict[str, str | None] = field(default_factory=dict)
    input_manifest: dict[str, list[Any]] = field(default_factory=dict)
    output_manifest: dict[str, list[Any]] = field(default_factory=dict)
    variables: list[dict[str, str]] = field(default_factory=list)
    run_id: str = ""
    created_at: datetime | None = None
    #: The identity digest of every file (``wf.cache.unchanged``), None unless all trusted.
    identities: str | None = None

    def head(self) -> CacheHead:
        """The part of the record that the stat-only check reads."""
        return CacheHead(
            node_id=self.node_id,
            cache_key=self.cache_key,
            command_digest=self.command_digest,
            read_variables=dict(self.read_variables),
            variables=list(self.variables),
            run_id=self.run_id,
            identities=self.identities,
        )

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready values."""
        return {
            "workflow_name": self.workflow_name,
            "node_id": self.node_id,
            "cache_key": self.cache_key,
            "command_digest": self.command_digest,
            "read_variables": dict(self.read_variables),
            "input_manifest": dict(self.input_manifest),
            "output_manifest": dict(self.output_manifest),
            "variables": list(self.variables),
            "run_id": self.run_id,
            "created_at": format_optional(self.created_at),
            "identities": self.identities,
        }


@dataclass(slots=True)
class CacheHead:
    """A cache record without its manifests: all that an up-to-date node needs when its
    files still have the recorded identities (the manifests are read only otherwise)."""

    node_id: str
    cache_key: str
    command_digest: str
    read_variables: dict[str, str | None]
    variables: list[dict[str, str]]
    run_id: str
    identities: str | None


@dataclass(slots=True)
class CacheHit:
    """One ``task_cache_hits`` row: a node of a run that was up to date (outcome ``cached``)."""

    run_id: str
    task_id: str
    task_name: str
    cache_key: str
    source_run_id: str
    fingerprint: str | None = None
    id: int = 0
    created_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """The hit as JSON-ready values (``state`` is always ``cached``)."""
        return {
            "id": self.id,
            "run_id": self.run_id,
            "task_id": self.task_id,
            "task_name": self.task_name,
            "state": "cached",
            "cache_key": self.cache_key,
            "source_run_id": self.source_run_id,
            "fingerprint": self.fingerprint,
            "created_at": format_optional(self.created_at),
        }
