"""Terminal conventions: symbols, colour, durations, dates and plain tables.

See docs/cli.md#global-options.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import IO, Any

_UNICODE_SYMBOLS = {
    "ok": "✓",
    "fail": "✗",
    "arrow": "→",
    "dash": "—",
    "warn": "⚠",
    "running": "⟳",
    "pending": "⊙",
    "skipped": "⊘",
    "cancelled": "⊗",
    "resuming": "↻",
    "start": "▶",
    "done": "■",
    "bullet": "●",
    "cached": "≡",
}
_ASCII_SYMBOLS = {
    "ok": "OK",
    "fail": "X",
    "arrow": "->",
    "dash": "-",
    "warn": "!",
    "running": "~",
    "pending": "-",
    "skipped": "-",
    "cancelled": "X",
    "resuming": "~",
    "start": ">",
    "done": "#",
    "bullet": "*",
    "cached": "=",
}

_RUN_STATUS = {
    "success": ("ok", "SUCCESS", "green"),
    "failed": ("fail", "FAILED", "red"),
    "running": ("running", "RUNNING", "blue"),
    "pending": ("pending", "PENDING", "yellow"),
    "cancelled": ("cancelled", "CANCELLED", "cyan"),
    "resuming": ("resuming", "RESUMING", "magenta"),
    "interrupted": ("warn", "INTERRUPTED", "yellow"),
}
_TASK_ICON = {
    "success": "ok",
    "failed": "fail",
    "running": "running",
    "pending": "pending",
    "ready": "arrow",
    "skipped": "skipped",
    "cancelled": "cancelled",
    "cached": "cached",
}
_ANSI = {
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
    "bold": "1",
    "dim": "2",
}


def supports_unicode(stream: IO[str] | None = None) -> bool:
    """Whether STREAM can encode the status symbols."""
    encoding = getattr(stream or sys.stdout, "encoding", None) or "ascii"
    try:
        "✓✗→⟳⊙⊘⊗↻▶■●—⚠⬤◈▼•↓═≡".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def use_colour(stream: IO[str] | None = None) -> bool:
    """Colour only when NO_COLOR is unset/empty, TERM is not dumb, and STREAM is a terminal."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    stream = stream or sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Style:
    """Symbols and colours for one output stream."""

    def __init__(self, stream: IO[str] | None = None, *, colour: bool | None = None) -> None:
        self.unicode = supports_unicode(stream)
        self.colour = use_colour(stream) if colour is None else colour
        self._symbols = _UNICODE_SYMBOLS if self.unicode else _ASCII_SYMBOLS

    def sym(self, name: str) -> str:
        """The symbol NAME in this stream's character set."""
        return self._symbols[name]

    def paint(self, text: str, colour: str | None) -> str:
        """TEXT wrapped in an ANSI colour when colour is on."""
        if not self.colour or not colour:
            return text
        return f"\x1b[{_ANSI[colour]}m{text}\x1b[0m"

    def run_status(self, status: str) -> str:
        """E.g. ``✓ SUCCESS`` in green."""
        icon, label, colour = _RUN_STATUS.get(status, ("pending", status.upper(), None))
        return self.paint(f"{self.sym(icon)} {label}", colour)

    def task_icon(self, state: str) -> str:
        """The icon of a task state (docs/cli.md#wf-run)."""
        return self.sym(_TASK_ICON.get(state, "pending"))


def table_duration(ms: int | float | None) -> str:
    """``-`` when unknown, else ``1h 2m 3s``, ``2m 3s`` or ``12.3s``.

    See docs/cli.md#global-options.
    """
    if ms is None:
        return "-"
    seconds = ms / 1000.0
    if seconds < 60:
        return f"{seconds:.1f}s"
    total = int(seconds)
    hours, rem = divmod(total, 3600)
    minutes, secs = divmod(rem, 60)
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    return f"{minutes}m {secs}s"


def local_time(dt: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """DT in local time with FMT, or ``-``."""
    if dt is None:
        return "-"
    return dt.astimezone().strftime(fmt)


def short_id(run_id: str) -> str:
    """Run IDs shortened to 8 characters for tables."""
    return run_id[:8]


def cut(text: str | None, width: int) -> str:
    """TEXT on one line, cut to WIDTH characters with an ellipsis."""
    if not text:
        return ""
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: max(0, width - 1)] + "…"


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], gap: int = 2) -> str:
    """A plain left-aligned table with a header row; cells are str()-ed."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], _display_width(cell))
    sep = " " * gap
    lines = [sep.join(h.ljust(widths[i]) for i, h in enumerate(headers)).rstrip()]
    for row in cells:
        lines.append(sep.join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip())
    return "\n".join(lines)


def _display_width(text: str) -> int:
    # ANSI escapes take no columns.
    import re

    return len(re.sub(r"\x1b\[[0-9;]*m", "", text))


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _display_width(text))


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 task``, ``2 tasks`` (MANY when the plural is not WORD + "s")."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def middle_cut(text: str, width: int) -> str:
    """TEXT shortened to WIDTH by dropping characters from its middle (``build[…=eu]``).

    The start (the task ID) and the end (a matrix suffix) both stay visible, so expansions of
    one task remain distinct on a narrow terminal.
    """
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    tail = (width - 1) // 2
    head = width - 1 - tail
    return text[:head] + "…" + (text[-tail:] if tail else "")
