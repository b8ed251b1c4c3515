"""Stored time format: UTC ISO-8601, six fractional digits, ``Z`` suffix.

See docs/storage.md#run-ids-and-times.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from typing import Any


def now_utc() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def format_time(dt: datetime) -> str:
    """Format DT as the fixed-width stored form. A naive DT is taken to be UTC already."""
    if dt.tzinfo is not UTC:
        dt = (
            dt.replace(tzinfo=None)
            if dt.tzinfo is None
            else dt.astimezone(UTC).replace(tzinfo=None)
        )
    else:
        dt = dt.replace(tzinfo=None)
    # isoformat is implemented in C; years 1000-9999 give exactly 26 characters before the Z.
    return dt.isoformat(timespec="microseconds") + "Z"


def format_optional(dt: datetime | None) -> str | None:
    """``format_time`` that passes None through."""
    return None if dt is None else format_time(dt)


def parse_time(text: str | None) -> datetime | None:
    """Parse a stored time (or any ISO-8601 form) into an aware UTC datetime; None/'' -> None.

    Raises ValueError for text that is not a time.
    """
    if not text:
        return None
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    if dt.utcoffset():
        return dt.astimezone(UTC)
    return dt if dt.tzinfo is UTC else dt.replace(tzinfo=UTC)


def normalized_time(text: Any) -> str | None:
    """``format_optional(parse_time(TEXT))``, the stored text of a time column as reads show
    it: TEXT itself when it is already in the stored form (checked by parsing it, so that a
    malformed time raises ValueError all the same), without building two datetimes."""
    if type(text) is str and len(text) == 27 and _stored_form().fullmatch(text):
        datetime.fromisoformat(text)
        return text
    return format_optional(parse_time(text))


@functools.cache
def _stored_form() -> re.Pattern[str]:
    """The form ``format_time`` writes (compiled on first use, not at every command's start):
    parsing and formatting it again gives the same text."""
    return re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
