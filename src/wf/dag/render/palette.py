"""Colours of task states and highlights shared by the dot, mermaid and html renderers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Swatch:
    """Fill, border and text colour of one node style."""

    fill: str
    stroke: str
    text: str


STATE_SWATCHES: dict[str, Swatch] = {
    "success": Swatch("#dcfce7", "#15803d", "#14532d"),
    "failed": Swatch("#fee2e2", "#b91c1c", "#7f1d1d"),
    "running": Swatch("#dbeafe", "#1d4ed8", "#1e3a8a"),
    "pending": Swatch("#fef9c3", "#a16207", "#713f12"),
    "ready": Swatch("#e0f2fe", "#0369a1", "#0c4a6e"),
    "skipped": Swatch("#f1f5f9", "#64748b", "#334155"),
    "cancelled": Swatch("#cffafe", "#0e7490", "#164e63"),
    # Up to date (docs/caching.md): a success that did not need to run, paler than success.
    "cached": Swatch("#f0fdf4", "#4d7c0f", "#365314"),
}
UNKNOWN_STATE = Swatch("#f5f5f4", "#78716c", "#292524")
DEFAULT_NODE = Swatch("#ffffff", "#64748b", "#0f172a")
MATRIX_NODE = Swatch("#f5f3ff", "#7c3aed", "#2e1065")
TRAP_NODE = Swatch("#fff1f2", "#be123c", "#881337")
EDGE = "#94a3b8"
FAILURE_EDGE = "#be123c"
HIGHLIGHT = "#c026d3"
FADED = "#cbd5e1"


def state_swatch(state: str) -> Swatch:
    """The swatch of a task state; an unknown state gets a neutral grey."""
    return STATE_SWATCHES.get(state, UNKNOWN_STATE)
