"""The stat-only check of an up-to-date node (docs/caching.md): one digest of identities.

A cache record whose files were all hashed while old enough to be trusted also stores the
*identity digest*: a SHA-256 over the path and (size, mtime_ns, ctime_ns, inode) of every
input and output file. When the node's command and variables are unchanged and the files
its globs match now give the same digest, then every path, size and content hash, and so
the cache key, equal the recorded ones: nothing is hashed, no manifest is read. Any other
answer means "check fully" (which finds the reason), never "changed".
"""

from __future__ import annotations

import glob
import hashlib
import os
import stat
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from wf.cache.globs import expand_pattern, name_matcher, simple_split

#: (size, mtime_ns, ctime_ns, inode) of a file.
FileStat = tuple[int, int, int, int]
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)


def identity_digest(
    inputs: Sequence[tuple[str, FileStat]], outputs: Sequence[tuple[str, FileStat]]
) -> str:
    """The digest of (path, identity) pairs, each list sorted by path: per list, its
    length, its paths joined by NUL (no path contains one) and its numbers as 64-bit
    integers (their decimal text for a number that does not fit, tagged apart)."""
    parts: list[bytes] = []
    for pairs in (inputs, outputs):
        numbers = [n for _, ident in pairs for n in ident]
        try:
            packed = b"q" + struct.pack(f"<{len(numbers)}q", *numbers)
        except struct.error:
            packed = b"r" + repr(numbers).encode()
        paths = "\x00".join([p for p, _ in pairs]).encode("utf-8", "surrogateescape")
        parts += (b"%d\n" % len(pairs), paths, b"\n", packed)
    return hashlib.sha256(b"".join(parts)).hexdigest()


def manifest_identities(
    inputs: Mapping[str, list[Any]], outputs: Mapping[str, list[Any]]
) -> str | None:
    """The identity digest of a record's manifests (``[size, sha256, stat or null]`` by
    path), or None when one of its files was not trusted (a recent file: no stat-only
    check)."""
    pairs = []
    for manifest in (inputs, outputs):
        items = sorted(manifest.items())
        if any(entry[2] is None for _, entry in items):
            return None
        pairs.append([(path, tuple(entry[2])) for path, entry in items])
    return identity_digest(pairs[0], pairs[1])


def _stat(path: str, prefix: str) -> FileStat | None:
    """The identity of the regular file PATH (relative paths are under PREFIX), or None."""
    try:
        st = os.stat(path if path[0] == "/" else prefix + path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _scan_identities(
    base: str, directory: str, name_pattern: str, found: dict[str, FileStat]
) -> int | None:
    """Add the identities of DIRECTORY's files matching NAME_PATTERN (as ``expand_pattern``
    matches them) to FOUND, by one scandir of the open directory and one ``fstatat`` per
    match (no path walk per file); the number of matches, or None (check fully)."""
    try:
        fd = os.open(os.path.join(base, directory) if directory else base, _DIR_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    except OSError:
        return None
    match = name_matcher(name_pattern).match
    hidden = name_pattern.startswith(".")
    prefix = f"{directory}/" if directory else ""
    count = 0
    try:
        with os.scandir(fd) as entries:
            for entry in entries:
                name = entry.name
                if (hidden or name[0] != ".") and match(name) and entry.is_file():
                    st = entry.stat()
                    found[prefix + name] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
                    count += 1
    except OSError:
        return None
    finally:
        os.close(fd)
    return count


def _add_matches(
    pattern: str, base: str, prefix: str, found: dict[str, FileStat], *, required: bool
) -> bool:
    """Add the identity of every file PATTERN matches to FOUND. False (check fully) when a
    file vanishes meanwhile, or when a REQUIRED pattern (an output) matches nothing."""
    split = simple_split(pattern)
    if split is not None:
        count = _scan_identities(base, split[0], split[1], found)
        return count is not None and (count > 0 or not required)
    if not glob.has_magic(pattern):
        # A plain name: one stat says whether it is a file (no match otherwise).
        path = os.path.normpath(pattern)
        ident = _stat(path, prefix)
        if ident is not None:
            found[path] = ident
        return ident is not None or not required
    paths = expand_pattern(pattern, base)
    for path in paths:
        ident = _stat(path, prefix)
        if ident is None:
            return False
        found[path] = ident
    return bool(paths) or not required


def current_identities(inputs: list[str], outputs: list[str], base: str) -> str | None:
    """The identity digest of the files INPUTS and OUTPUTS match under BASE now, or None
    when an output pattern matches nothing or a file vanishes meanwhile."""
    prefix = base.rstrip("/") + "/"
    found_inputs: dict[str, FileStat] = {}
    for pattern in inputs:
        if not _add_matches(pattern, base, prefix, found_inputs, required=False):
            return None
    found_outputs: dict[str, FileStat] = {}
    for pattern in outputs:
        if not _add_matches(pattern, base, prefix, found_outputs, required=True):
            return None
    return identity_digest(sorted(found_inputs.items()), sorted(found_outputs.items()))
