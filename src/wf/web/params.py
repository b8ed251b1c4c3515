"""Query parameters of the history page and ``/api/runs``: the filters of ``wf runs``."""

from __future__ import annotations

from collections.abc import Mapping

from wf.dates import local_day_end, local_day_start
from wf.durations import DurationError, parse_duration
from wf.errors import UsageError
from wf.history import RunFilters, RunPage

#: Runs per page when ``limit`` is not given.
DEFAULT_LIMIT = 50
#: The largest page a request may ask for (``limit=0`` means this many too).
MAX_LIMIT = 1000


def _int(params: Mapping[str, str], name: str, default: int) -> int:
    text = params.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"invalid {name}: {text!r} (expected a whole number)") from None
    if value < 0:
        raise UsageError(f"invalid {name}: {text!r} (expected a number >= 0)")
    return value


def attempt_param(params: Mapping[str, str]) -> int | None:
    """``attempt=N`` (N >= 1), or None when absent."""
    text = params.get("attempt", "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"invalid attempt: {text!r} (expected a number >= 1)")
    return int(text)


def history_query(params: Mapping[str, str]) -> tuple[RunFilters, RunPage]:
    """The filters (``status``, ``workflow``, ``tag``, ``since``, ``until``, ``min_duration``)
    and the page (``limit``, default 50, at most 1000; ``offset``; ``sort``) of a request.

    Raises UsageError for a value ``wf runs`` would refuse.
    """

    def text(name: str) -> str | None:
        value = params.get(name, "").strip()
        return value or None

    since, until, min_duration = text("since"), text("until"), text("min_duration")
    min_ms = None
    if min_duration:
        try:
            min_ms = round(parse_duration(min_duration) * 1000)
        except DurationError as exc:
            raise UsageError(f"invalid min_duration: {exc}") from None
    filters = RunFilters(
        workflow=text("workflow"),
        status=text("status"),
        tag=text("tag"),
        start_after=local_day_start(since, "since") if since else None,
        start_before=local_day_end(until, "until") if until else None,
        min_duration_ms=min_ms,
    )
    limit = _int(params, "limit", DEFAULT_LIMIT)
    limit = MAX_LIMIT if limit == 0 else min(limit, MAX_LIMIT)
    page = RunPage(limit=limit, offset=_int(params, "offset", 0), sort=text("sort") or "time")
    return filters, page


def filter_params(params: Mapping[str, str]) -> dict[str, str]:
    """The filter and sort parameters present in a request (for links that keep them)."""
    keys = ("status", "workflow", "tag", "since", "until", "min_duration", "sort", "limit")
    return {k: params[k] for k in keys if params.get(k, "").strip()}
