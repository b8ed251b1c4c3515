"""Durations of SPEC §1.4 (re-exported from ``wf.durations``, which has no package imports)."""

from wf.durations import DurationError, format_duration, parse_duration

__all__ = ["DurationError", "format_duration", "parse_duration"]
