"""Errors raised by the store: database failures, unknown or ambiguous run IDs, schema versions."""

from __future__ import annotations

from collections.abc import Sequence

from wf.errors import WfError

#: How many candidate IDs an ambiguous-prefix message lists before "and N more".
AMBIGUOUS_LISTED = 10


class StoreError(WfError):
    """A database failure (docs/storage.md)."""


class RunNotFoundError(StoreError, LookupError):
    """No run matches the given ID or prefix."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"run not found: {run_id}")
        self.run_id = run_id


class AmbiguousRunIdError(StoreError, LookupError):
    """Several runs start with the given prefix; ``candidates`` lists (up to 10 of) them."""

    def __init__(self, prefix: str, candidates: Sequence[str], total: int | None = None) -> None:
        listed = list(candidates[:AMBIGUOUS_LISTED])
        total = len(candidates) if total is None else total
        message = f"ambiguous run ID prefix {prefix} matches: {', '.join(listed)}"
        if total > len(listed):
            message += f", and {total - len(listed)} more"
        super().__init__(message)
        self.prefix = prefix
        self.candidates = listed
        self.total = total


class SchemaVersionError(StoreError):
    """The database was written by a newer wf."""

    def __init__(self, version: int) -> None:
        super().__init__(f"database schema version {version} is newer than this wf supports")
        self.version = version
