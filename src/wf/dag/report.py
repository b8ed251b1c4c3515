"""Collecting validation errors and warnings, and the shared wording of their messages."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["Report", "quote", "show", "type_name", "unknown_key"]

SUGGESTION_CUTOFF = 0.6


def quote(text: str) -> str:
    """TEXT in double quotes, with control characters escaped so a message stays one line."""
    return json.dumps(text, ensure_ascii=False)


def show(text: str) -> str:
    """TEXT as is when printable (for the spec's unquoted messages), else quoted."""
    return text if text.isprintable() else quote(text)


def unknown_key(key: str, valid: Iterable[str]) -> str:
    """'unknown key "X"', plus '(did you mean "Y"?)' when a valid key is similar enough."""
    message = f"unknown key {quote(key)}"
    import difflib

    close = difflib.get_close_matches(key, sorted(valid), n=1, cutoff=SUGGESTION_CUTOFF)
    if close:
        message += f" (did you mean {quote(close[0])}?)"
    return message


def type_name(value: object) -> str:
    """The TOML type name of a parsed value, for 'got …' hints."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    return "date/time"


@dataclass
class Report:
    """Errors and warnings in the order they were found."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        """Record an error: the workflow is invalid."""
        self.errors.append(message)

    def warn(self, message: str) -> None:
        """Record a warning: the workflow stays valid."""
        self.warnings.append(message)
