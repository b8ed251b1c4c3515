"""Private files written by wf (SPEC §9.7): directories 0700, files 0600."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO


def make_private_dirs(directory: Path) -> None:
    """Create DIRECTORY and every missing ancestor with mode 0700.

    ``os.makedirs(mode=...)`` applies the mode to the last directory only.
    """
    missing: list[Path] = []
    for candidate in (directory, *directory.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    for candidate in reversed(missing):
        try:
            os.mkdir(candidate, 0o700)
        except FileExistsError:
            continue
        os.chmod(candidate, 0o700)  # exactly 0700, whatever the umask removed


def open_private(path: Path) -> IO[bytes]:
    """Open PATH for writing with mode 0600, creating missing parents with mode 0700."""
    make_private_dirs(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an existing file keeps its mode through os.open
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise


def write_private_file(path: Path, data: str | bytes) -> None:
    """Write DATA to PATH with mode 0600 (parents 0700)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with open_private(path) as fh:
        fh.write(payload)
