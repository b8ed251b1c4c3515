"""Glob patterns of ``inputs``/``outputs``: files only, ``**`` at any depth, sorted."""

from __future__ import annotations

import fnmatch
import glob
import os
import re
from functools import lru_cache


@lru_cache(maxsize=1024)
def name_matcher(pattern: str) -> re.Pattern[str]:
    """The compiled ``fnmatch`` pattern of one file name pattern."""
    return re.compile(fnmatch.translate(pattern))


def simple_split(pattern: str) -> tuple[str, str] | None:
    """(directory, name pattern) of a relative pattern with wildcards in its last part only
    (matched by one scandir), else None."""
    if os.path.isabs(pattern) or "**" in pattern or not glob.has_magic(pattern):
        return None
    directory, name = os.path.split(os.path.normpath(pattern))
    if glob.has_magic(directory) or directory == "..":
        return None
    return directory, name


def _scan_one_dir(base: str, directory: str, name_pattern: str) -> list[str] | None:
    """Matches of DIRECTORY/NAME_PATTERN (wildcards in the last part only) by one scandir;
    None when the directory cannot be listed."""
    full = os.path.join(base, directory) if directory else base
    match = name_matcher(name_pattern).match
    hidden = name_pattern.startswith(".")
    prefix = f"{directory}/" if directory else ""
    try:
        with os.scandir(full) as entries:
            return [
                prefix + entry.name
                for entry in entries
                if (hidden or not entry.name.startswith("."))
                and match(entry.name)
                and entry.is_file()
            ]
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError:
        return None


def expand_pattern(pattern: str, base: str) -> list[str]:
    """The files one pattern matches (see ``expand_globs``), unsorted."""
    if not glob.has_magic(pattern):
        path = pattern if os.path.isabs(pattern) else os.path.join(base, pattern)
        return [os.path.normpath(pattern)] if os.path.isfile(path) else []
    if os.path.isabs(pattern):
        return [m for m in glob.glob(pattern, recursive=True) if os.path.isfile(m)]
    split = simple_split(pattern)
    if split is not None:
        found = _scan_one_dir(base, *split)
        if found is not None:
            return found
    return [
        os.path.normpath(m)
        for m in glob.glob(pattern, root_dir=base, recursive=True)
        if os.path.isfile(os.path.join(base, m))
    ]


def expand_globs(patterns: list[str], base: str) -> list[str]:
    """The files (not directories) PATTERNS match, relative to BASE, sorted and unique.

    A relative pattern is matched under BASE and its matches are returned relative to it,
    as written (``src/a.py``); an absolute pattern returns absolute paths. ``**`` matches
    any number of directories, zero included; ``*`` and ``?`` do not match a leading dot,
    as in the shell. A pattern without wildcards matches the file it names, if it exists.
    """
    found: set[str] = set()
    for pattern in patterns:
        found.update(expand_pattern(pattern, base))
    return sorted(found)
