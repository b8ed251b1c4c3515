"""Parsing of the date and duration arguments of listing commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wf.errors import UsageError


def local_day_start(text: str, option: str) -> datetime:
    """Midnight (local time) of the YYYY-MM-DD TEXT, as an aware UTC datetime."""
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise UsageError(f"invalid {option}: {text!r} (expected YYYY-MM-DD)") from None
    return day.astimezone().astimezone(UTC)


def local_day_end(text: str, option: str) -> datetime:
    """Midnight (local time) after the YYYY-MM-DD TEXT: an exclusive upper bound."""
    start = datetime.strptime(text, "%Y-%m-%d") if _valid(text) else None
    if start is None:
        raise UsageError(f"invalid {option}: {text!r} (expected YYYY-MM-DD)")
    return (start + timedelta(days=1)).astimezone().astimezone(UTC)


def _valid(text: str) -> bool:
    try:
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return False
    return True
