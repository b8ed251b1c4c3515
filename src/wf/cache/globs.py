"""Glob patterns of ``inputs``/``outputs``: files only, ``**`` at any depth, sorted."""

from __future__ import annotations

import glob
import os


def expand_globs(patterns: list[str], base: str) -> list[str]:
    """The files (not directories) PATTERNS match, relative to BASE, sorted and unique.

    A relative pattern is matched under BASE and its matches are returned relative to it,
    as written (``src/a.py``); an absolute pattern returns absolute paths. ``**`` matches
    any number of directories, zero included; ``*`` and ``?`` do not match a leading dot,
    as in the shell. A pattern without wildcards matches the file it names, if it exists.
    """
    found: set[str] = set()
    for pattern in patterns:
        if not glob.has_magic(pattern):
            path = pattern if os.path.isabs(pattern) else os.path.join(base, pattern)
            if os.path.isfile(path):
                found.add(os.path.normpath(pattern))
            continue
        if os.path.isabs(pattern):
            matches = glob.glob(pattern, recursive=True)
            found.update(m for m in matches if os.path.isfile(m))
        else:
            for match in glob.glob(pattern, root_dir=base, recursive=True):
                if os.path.isfile(os.path.join(base, match)):
                    found.add(os.path.normpath(match))
    return sorted(found)
