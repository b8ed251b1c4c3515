"""Durations: parsing TOML values into float seconds, and printing them back.

See docs/workflow-files.md#durations.
"""

from __future__ import annotations

import json
import math
import re

from wf.errors import WfError

__all__ = ["MAX_DELAY", "DurationError", "backoff_delay", "format_duration", "parse_duration"]

_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # micro sign U+00B5
    "μs": 1e-6,  # Greek small letter mu U+03BC, accepted like Go does
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_NUMBER = r"(?:\d+\.?\d*|\.\d+)"
_GROUP_RE = re.compile(rf"({_NUMBER})(ns|us|µs|μs|ms|s|m|h)")
_DURATION_RE = re.compile(rf"(?:{_GROUP_RE.pattern})+")
_UNITLESS_RE = re.compile(_NUMBER)


#: The longest delay wf computes (2**63 - 1 ms, what an SQLite INTEGER of milliseconds holds;
#: about 292 million years): longer ones are this, never an overflow or an infinity.
MAX_DELAY = (2**63 - 1) / 1000


def backoff_delay(base: float, factor: float, steps: int, cap: float | None = None) -> float:
    """``min(base × factor^steps, cap)`` in seconds, never raising and never above
    ``MAX_DELAY``, whatever the numbers (``retry_backoff = 1e200`` included)."""
    if base <= 0 or steps < 0:
        delay = max(base, 0.0) if steps >= 0 else 0.0
    else:
        try:
            delay = base * factor**steps
        except OverflowError:
            delay = math.inf
    if cap is not None:
        delay = min(delay, cap)
    if not delay <= MAX_DELAY:  # also NaN
        delay = MAX_DELAY
    return max(delay, 0.0)


class DurationError(WfError, ValueError):
    """A value that is not a valid duration; the message shows the value and the rule."""


def parse_duration(value: object) -> float:
    """Return VALUE as float seconds: a number of seconds ≥ 0, or a string like ``"1m30s"``."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise DurationError(
            f'invalid duration {value!r}: expected a number of seconds or a string such as "30s"'
        )
    if isinstance(value, str):
        return _parse_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise DurationError(f"invalid duration {value!r}: must be a finite number of seconds")
    if value < 0:
        raise DurationError(f"negative duration {value!r}: durations must be >= 0")
    seconds = float(value)
    if not math.isfinite(seconds):
        raise DurationError(f"invalid duration {value!r}: too large")
    return seconds


def _parse_text(text: str) -> float:
    if text == "0":
        return 0.0
    shown = _quote(text)
    if text.startswith("-") and (_DURATION_RE.fullmatch(text[1:]) or text[1:] == "0"):
        raise DurationError(f"negative duration {shown}: durations must be >= 0")
    if _UNITLESS_RE.fullmatch(text):
        raise DurationError(
            f"missing unit in duration {shown} (write {_quote(text + 's')} or the number {text})"
        )
    if not _DURATION_RE.fullmatch(text):
        if _UNITLESS_RE.fullmatch(_GROUP_RE.sub("", text)) and _DURATION_RE.match(text):
            raise DurationError(f"missing unit in duration {shown}")
        raise DurationError(
            f"invalid duration {shown} (write a number of seconds, or groups of a number and a "
            'unit ns, us, ms, s, m or h, such as "500ms" or "1m30s")'
        )
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _GROUP_RE.findall(text))
    if not math.isfinite(seconds):
        raise DurationError(f"invalid duration {shown}: too large")
    return seconds


def format_duration(seconds: float) -> str:
    """Print SECONDS as ``500ms``, ``250µs``, ``1.5s``, ``1m30s``, ``2h`` or ``1h5s``."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise DurationError(f"cannot format duration {seconds!r}: not a number")
    if not math.isfinite(seconds) or seconds < 0:
        raise DurationError(f"cannot format duration {seconds!r}: must be finite and >= 0")
    if seconds == 0:
        return "0s"
    micros = round(seconds * 1e6, 3)
    if micros < 1000:
        return f"{_decimal(micros)}µs"
    millis = round(seconds * 1e3, 3)
    if millis < 1000:
        return f"{_decimal(millis)}ms"
    scaled = seconds * 1000
    # Within a factor 1000 of the largest float the product overflows; whole seconds are exact.
    total_ms = round(scaled) if math.isfinite(scaled) else int(seconds) * 1000
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if rest:
        parts.append(f"{_decimal(rest / 1000)}s")
    return "".join(parts)


def _decimal(number: float) -> str:
    """At most three decimals, without trailing zeros."""
    return f"{number:.3f}".rstrip("0").rstrip(".")


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)
