"""Files written by wf, with exact modes whatever the umask: private ones (directories 0700,
files 0600), and the few meant to be shared (the example workflow, a saved schema: 0644)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import IO

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def make_private_dirs(directory: Path, mode: int = 0o700) -> None:
    """Create DIRECTORY and every missing ancestor with mode 0700 (or MODE), exactly.

    ``os.makedirs(mode=...)`` applies the mode to the last directory only, and the umask to
    all of them.
    """
    missing: list[Path] = []
    for candidate in (directory, *directory.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    for candidate in reversed(missing):
        try:
            os.mkdir(candidate, mode)
        except FileExistsError:
            continue
        os.chmod(candidate, mode)  # exactly, whatever the umask removed


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


def write_shared_file(path: Path, data: str) -> None:
    """Write DATA (UTF-8) to PATH with mode 0644 exactly, whatever the umask: readable by
    others, never writable by them."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fd, 0o644)
        fh.write(data.encode("utf-8"))


def write_private_file(path: Path, data: str | bytes) -> None:
    """Write DATA to PATH with mode 0600 (parents 0700)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with open_private(path) as fh:
        fh.write(payload)


def open_regular(path: str | Path, flags: int = os.O_RDONLY, mode: int = 0o600) -> int:
    """Open PATH (a file descriptor), only if it is a regular file: never blocking (a FIFO put
    where a log should be), never through a symbolic link (the last component), never a
    directory or a device. Anything else raises ``OSError`` with a plain reason."""
    try:
        fd = os.open(path, flags | _NONBLOCK | _NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO opened for writing with no reader
            raise OSError(errno.EINVAL, "not a regular file", str(path)) from None
        if exc.errno == errno.ELOOP and os.path.islink(path):
            raise OSError(errno.ELOOP, "is a symbolic link", str(path)) from None
        raise
    try:
        # (O_NONBLOCK has no effect on a regular file, so it can stay set.)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_regular_file(path: str | Path) -> IO[bytes]:
    """``open_regular`` for reading, as a binary file object."""
    return os.fdopen(open_regular(path), "rb")
