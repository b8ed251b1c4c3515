"""Reading attempt logs: tails, whole files, and following files that are still growing."""

from __future__ import annotations

import os
import sys
from collections import deque
from dataclasses import dataclass

from wf.files import open_regular_file


def read_lines(path: str | None, tail: int = 0) -> list[str] | str | None:
    """The lines of a log (the last TAIL when TAIL > 0), None when no PATH is recorded, or an
    error text (str) when it cannot be read. A missing file is an empty log: an attempt that
    printed nothing has none (docs/executors.md, "How a task runs")."""
    if not path:
        return None
    try:
        with open_regular_file(path) as fh:
            if tail > 0:
                lines: deque[bytes] = deque(fh, maxlen=min(tail, sys.maxsize))
                data = b"".join(lines)
            else:
                data = fh.read()
    except FileNotFoundError:
        return []
    except OSError as exc:
        return exc.strerror or str(exc)
    return data.decode("utf-8", errors="replace").splitlines()


@dataclass
class FollowedFile:
    """A log file read incrementally; partial last lines wait for their newline."""

    path: str
    label: str
    offset: int = 0
    pending: bytes = b""

    def read_new(self) -> list[str]:
        """Complete lines appended since the last call (none while the file does not exist:
        it is created on the attempt's first output byte)."""
        try:
            with open_regular_file(self.path) as fh:
                fh.seek(self.offset)
                data = fh.read()
        except OSError:
            return []
        self.offset += len(data)
        data = self.pending + data
        if not data:
            return []
        *complete, self.pending = data.split(b"\n")
        return [line.decode("utf-8", errors="replace") for line in complete]

    def flush(self) -> list[str]:
        """Whatever is left without a final newline."""
        if not self.pending:
            return []
        line, self.pending = self.pending, b""
        return [line.decode("utf-8", errors="replace")]

    def exists(self) -> bool:
        """Whether the file is there yet."""
        return os.path.exists(self.path)
