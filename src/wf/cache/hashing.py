"""Content hashes of files, cached by (size, mtime_ns, ctime_ns, inode) as git does.

An unchanged file is not read again; a rewrite that keeps its size and mtime (``cp -p``,
``touch -r``) still changes its ctime, which no user tool can set, so it is read again.
A file whose timestamps are within ``RACY_NS`` of the moment it was hashed might still be
changed within the same timestamp tick: its identity is not trusted later (git calls such
index entries "racily clean") and the file is read again next time.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

#: (size, mtime_ns, ctime_ns, inode) of a file.
FileStat = tuple[int, int, int, int]
#: Timestamps this close to the hashing time are not trusted later (coarse file-system clocks).
RACY_NS = 2_000_000_000
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class FileInfo:
    """A hashed file: its size, SHA-256 and, when it may be trusted later, its identity."""

    size: int
    sha256: str
    stat: FileStat | None

    def manifest_entry(self) -> list[object]:
        """``[size, sha256, stat or null]`` as stored in a cache record."""
        return [self.size, self.sha256, None if self.stat is None else list(self.stat)]


def file_stat(st: os.stat_result) -> FileStat:
    """The identity of a file for the hash cache."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def sha256_file(path: str) -> str:
    """The SHA-256 hex digest of the file at PATH."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


class FileHasher:
    """Hashes files, reusing known hashes of files whose identity has not changed.

    ``lookup(path, stat)`` is the persistent cache (the store's ``file_hashes``); new
    trustworthy hashes are collected in ``learned`` for the caller to store. Within one
    hasher, a file is read at most once per identity.
    """

    def __init__(
        self,
        lookup: Callable[[str, FileStat], str | None] | None = None,
        *,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._lookup = lookup
        self._clock_ns = clock_ns
        self._memo: dict[str, tuple[FileStat, str]] = {}
        self.learned: list[tuple[str, FileStat, str]] = []
        self.bytes_read = 0
        self.files_read = 0

    def info(
        self, path: str, known: Mapping[str, list[object]] | None = None, key: str = ""
    ) -> FileInfo:
        """Hash the file at PATH; KNOWN[KEY] is a manifest entry that may vouch for it."""
        st = os.stat(path)
        ident = file_stat(st)
        trusted = self._trusted(ident)
        if known is not None and trusted:
            entry = known.get(key)
            recorded = entry[2] if entry is not None else None
            if isinstance(recorded, list) and tuple(recorded) == ident and entry is not None:
                return FileInfo(ident[0], str(entry[1]), ident)
        memo = self._memo.get(path)
        if memo is not None and memo[0] == ident and trusted:
            return FileInfo(ident[0], memo[1], ident)
        digest = None
        if trusted and self._lookup is not None:
            digest = self._lookup(path, ident)
        if digest is None:
            digest = sha256_file(path)
            self.bytes_read += ident[0]
            self.files_read += 1
            # Read after hashing: a file that changed meanwhile is not trusted.
            after = file_stat(os.stat(path))
            trusted = trusted and after == ident and self._trusted(ident)
            if trusted:
                self.learned.append((path, ident, digest))
        if trusted:
            self._memo[path] = (ident, digest)
        return FileInfo(ident[0], digest, ident if trusted else None)

    def _trusted(self, ident: FileStat) -> bool:
        """False while the file's timestamps are too recent to rule out a same-tick change."""
        newest = max(ident[1], ident[2])
        return newest < self._clock_ns() - RACY_NS

    def take_learned(self) -> list[tuple[str, FileStat, str]]:
        """The hashes learned since the last call (for the persistent cache)."""
        out, self.learned = self.learned, []
        return out
