"""SQL building blocks for store reads: run filters, sort orders, literal ID-prefix ranges."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wf.storage.models import ACTIVE_RUN_STATUSES, UNFINISHED_TASK_STATUSES, RunStatus
from wf.storage.schema import sql_list
from wf.storage.times import format_time

_SURROGATES = range(0xD800, 0xE000)

#: The run statuses that have a live owner process, as an SQL list.
ACTIVE_STATUSES_SQL = sql_list(*sorted(ACTIVE_RUN_STATUSES))
#: The attempt states an interruption turns into ``cancelled``, as an SQL list.
UNFINISHED_STATES_SQL = sql_list(*sorted(UNFINISHED_TASK_STATUSES))

#: ``wf runs --sort`` keys (docs/cli.md#wf-runs) -> ORDER BY; every order ends with the default one.
RUN_ORDERS = {
    "time": "start_time DESC, id DESC",
    "name": "workflow_name ASC, start_time DESC, id DESC",
    "workflow": "workflow_name ASC, start_time DESC, id DESC",
    "duration": "duration_ms IS NULL, duration_ms DESC, start_time DESC, id DESC",
    "tasks": "total_tasks DESC, start_time DESC, id DESC",
    "status": "status ASC, start_time DESC, id DESC",
}


def run_filters(
    *,
    workflow: str | None,
    status: RunStatus | str | None,
    tag: str | None,
    start_after: datetime | None,
    start_before: datetime | None,
    min_duration_ms: int | None,
) -> tuple[str, list[Any]]:
    """A WHERE clause ('' when unfiltered) and its parameters; the filters are ANDed.

    ``start_after`` is inclusive and ``start_before`` exclusive, so consecutive windows never
    overlap. Runs without a duration never pass ``min_duration_ms``.
    """
    clauses: list[str] = []
    params: list[Any] = []
    if workflow is not None:
        clauses.append("workflow_name = ?")
        params.append(workflow)
    if status is not None:
        clauses.append("status = ?")
        params.append(str(status))
    if tag is not None:
        clauses.append("EXISTS (SELECT 1 FROM json_each(runs.tags) WHERE json_each.value = ?)")
        params.append(tag)
    if start_after is not None:
        clauses.append("start_time >= ?")
        params.append(format_time(start_after))
    if start_before is not None:
        clauses.append("start_time < ?")
        params.append(format_time(start_before))
    if min_duration_ms is not None:
        clauses.append("duration_ms >= ?")
        params.append(min_duration_ms)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def limit_clause(limit: int, offset: int) -> tuple[str, list[Any]]:
    """LIMIT/OFFSET for ``limit`` (0 = no limit) and ``offset``."""
    if limit < 0 or offset < 0:
        raise ValueError("limit and offset must be >= 0")
    if not limit and not offset:
        return "", []
    return " LIMIT ? OFFSET ?", [limit or -1, offset]


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string greater than every string starting with PREFIX, or None if there is
    none. SQLite compares TEXT as UTF-8 bytes, which orders like code points, so
    ``prefix <= id < bound`` selects exactly the IDs that start with PREFIX — literally, with no
    wildcard characters."""
    chars = list(prefix)
    while chars:
        code = ord(chars.pop()) + 1
        if code in _SURROGATES:
            code = _SURROGATES.stop
        if code <= 0x10FFFF:
            return "".join(chars) + chr(code)
    return None
