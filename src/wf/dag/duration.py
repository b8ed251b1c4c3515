"""Durations, re-exported from ``wf.durations`` (no package imports).

See docs/workflow-files.md#durations.
"""

from wf.durations import DurationError, format_duration, parse_duration

__all__ = ["DurationError", "format_duration", "parse_duration"]
