"""Date arguments of listing commands: the library's local-day bounds (``wf.dates``)."""

from __future__ import annotations

from wf.dates import local_day_end, local_day_start

__all__ = ["local_day_end", "local_day_start"]
