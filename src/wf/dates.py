"""Local calendar days (YYYY-MM-DD) as UTC bounds, for the date filters of run listings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wf.errors import UsageError


def local_day_start(text: str, option: str) -> datetime:
    """Midnight (local time) of the YYYY-MM-DD TEXT, as an aware UTC datetime."""
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise UsageError(f"invalid {option}: {text!r} (expected YYYY-MM-DD)") from None
    return _to_utc(day, at_end=False)


def local_day_end(text: str, option: str) -> datetime:
    """Midnight (local time) after the YYYY-MM-DD TEXT: an exclusive upper bound."""
    start = datetime.strptime(text, "%Y-%m-%d") if _valid(text) else None
    if start is None:
        raise UsageError(f"invalid {option}: {text!r} (expected YYYY-MM-DD)")
    try:
        end = start + timedelta(days=1)
    except OverflowError:  # after 9999-12-31: no upper bound
        return datetime.max.replace(tzinfo=UTC)
    return _to_utc(end, at_end=True)


def _to_utc(local: datetime, *, at_end: bool) -> datetime:
    """LOCAL (naive, local time) as aware UTC, clamped at the ends of the calendar."""
    try:
        return local.astimezone().astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return (datetime.max if at_end else datetime.min).replace(tzinfo=UTC)


def _valid(text: str) -> bool:
    try:
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return False
    return True
