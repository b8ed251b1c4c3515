"""Files written by wf commands: parents 0700, the file itself 0600 (SPEC §9.7)."""

from __future__ import annotations

import os
from pathlib import Path


def write_private_file(path: Path, data: str | bytes) -> None:
    """Write DATA to PATH with mode 0600, creating missing parent directories with 0700."""
    parent = path.parent
    if str(parent) and not parent.exists():
        os.makedirs(parent, mode=0o700, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(payload)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)
