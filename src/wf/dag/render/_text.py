"""Terminal text helpers for the ascii renderer: ANSI pens, symbols, truncation and wrapping."""

from __future__ import annotations

from dataclasses import dataclass

from wf.dag.render.analysis import KIND_LEAF, KIND_MATRIX, KIND_OTHER, KIND_ROOT

RESET = "\x1b[0m"
BOLD = "1"
DIM = "2"
RED = "31"
GREEN = "32"
YELLOW = "33"
BLUE = "34"
MAGENTA = "35"
CYAN = "36"

STATE_COLOURS = {
    "success": GREEN,
    "failed": RED,
    "running": BLUE,
    "pending": YELLOW,
    "ready": BLUE,
    "skipped": DIM,
    "cancelled": CYAN,
    "cached": GREEN,
}

_UNICODE = {
    KIND_ROOT: "⬤",
    KIND_MATRIX: "◈",
    KIND_LEAF: "▼",
    KIND_OTHER: "•",
    "down": "↓",
    "arrow": "→",
    "from": "←",
    "ellipsis": "…",
    "rule": "─",
    "box": "╭╮╰╯─│",
    "target": "▶",
    "related": "│",
    "sep": "·",
    "times": "×",
}
_ASCII = {
    KIND_ROOT: "@",
    KIND_MATRIX: "#",
    KIND_LEAF: "v",
    KIND_OTHER: "o",
    "down": "|",
    "arrow": "->",
    "from": "<-",
    "ellipsis": "...",
    "rule": "-",
    "box": "++++-|",
    "target": ">",
    "related": "|",
    "sep": "|",
    "times": "x",
}


@dataclass(frozen=True)
class Pen:
    """Symbols and optional ANSI colour for one rendering."""

    colour: bool = False
    unicode: bool = True

    def sym(self, name: str) -> str:
        """The symbol called ``name`` in the active character set."""
        return (_UNICODE if self.unicode else _ASCII)[name]

    def paint(self, text: str, *codes: str) -> str:
        """``text`` wrapped in ANSI SGR codes when colour is on."""
        if not self.colour or not codes or not text:
            return text
        return f"\x1b[{';'.join(codes)}m{text}{RESET}"

    def fit(self, text: str, width: int) -> str:
        """``text`` cut to ``width`` characters, ending with an ellipsis when cut."""
        if len(text) <= width:
            return text
        mark = self.sym("ellipsis")
        return text[: max(width - len(mark), 0)] + mark


def first_line(text: str) -> tuple[str, int]:
    """The first non-empty line of ``text`` (stripped) and how many more lines follow."""
    lines = [line.strip() for line in text.strip().splitlines()]
    if not lines:
        return "", 0
    return lines[0], len(lines) - 1


def wrap_items(items: list[str], sep: str, *, first: str, indent: str, width: int) -> list[str]:
    """Join ``items`` with ``sep`` after ``first``, wrapping so that lines stay within ``width``.

    A separator with a leading space (`` → ``) starts the continuation line, after ``indent``;
    otherwise (``, ``) it ends the broken line. An item never splits, so one longer than the
    width stays on its own line.
    """
    lines: list[str] = []
    current = first
    placed = False
    leading = sep.startswith(" ")
    for item in items:
        piece = sep + item if placed else item
        if placed and len(current) + len(piece) > width:
            if leading:
                lines.append(current.rstrip())
                current = indent + sep.lstrip() + item
            else:
                lines.append((current + sep).rstrip())
                current = indent + item
        else:
            current += piece
        placed = True
    lines.append(current)
    return lines
