"""Checking a cron trigger's ``schedule``: five fields, or a macro such as ``@daily``."""

from __future__ import annotations

__all__ = ["cron_problem"]

MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# name, lowest, highest, names (numbered from `lowest`)
_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)


def cron_problem(schedule: str) -> str:
    """What is wrong with SCHEDULE as a 5-field cron expression, or "" when it is valid."""
    text = schedule.strip()
    if text.startswith("@"):
        if text.lower() in MACROS:
            return ""
        return f"unknown macro {text!r} (known: {', '.join(MACROS)})"
    fields = text.split()
    if len(fields) != 5:
        return f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}"
    for value, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        problem = _field_problem(value, low, high, names)
        if problem:
            return f"{name} field {value!r}: {problem}"
    return ""


def _field_problem(value: str, low: int, high: int, names: tuple[str, ...]) -> str:
    for item in value.split(","):
        base, slash, step = item.partition("/")
        if slash and not (step.isdigit() and int(step) >= 1):
            return f"step {step!r} must be a positive integer"
        if base == "*":
            continue
        start, dash, end = base.partition("-")
        bounds = [start, end] if dash else [start]
        numbers = []
        for bound in bounds:
            number = _number(bound, low, names)
            if number is None:
                return f"{bound!r} is not a number" + (" or a name" if names else "")
            if not low <= number <= high:
                return f"{number} is out of range {low}-{high}"
            numbers.append(number)
        if dash and numbers[0] > numbers[1]:
            return f"range {base!r} runs backwards"
    return ""


def _number(text: str, low: int, names: tuple[str, ...]) -> int | None:
    if text.isdigit() and text.isascii():
        return int(text)
    lowered = text.lower()
    if lowered in names:
        return names.index(lowered) + low
    return None
