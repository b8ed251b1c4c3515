"""``wf audit``: a run's append-only audit trail as a table or JSON (docs/cli.md#wf-audit)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence

import click

from wf.cli.context import app_context, is_tty
from wf.errors import UsageError
from wf.inspection import AUDIT_EVENT_TYPES, audit_event_dict, audit_events, parse_json_text
from wf.storage import AuditEntry

EMPTY = "No audit events recorded for this run."


def event_time(entry: AuditEntry) -> str:
    """Local ``HH:MM:SS.mmm`` of the entry, or ``-``."""
    if entry.created_at is None:
        return "-"
    local = entry.created_at.astimezone()
    return f"{local:%H:%M:%S}.{local.microsecond // 1000:03d}"


def compact_data(entry: AuditEntry) -> str:
    """The event data as compact JSON (the stored text when it is not JSON)."""
    value = parse_json_text(entry.event_data)
    if isinstance(value, str) and value == entry.event_data:
        return entry.event_data
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def wrap_data(data: str, width: int) -> list[str]:
    """DATA in pieces of at most WIDTH characters, preferably broken after a comma.

    Joining the pieces gives DATA back: no character is dropped.
    """
    pieces = []
    while len(data) > width:
        end = data.rfind(",", 0, width) + 1 or width
        pieces.append(data[:end])
        data = data[end:]
    return [*pieces, data]


def render_audit(entries: Sequence[AuditEntry], width: int | None = None) -> str:
    """The ``TIME  EVENT  DATA`` table; with WIDTH, long data wraps under its column."""
    rows = [(event_time(e), e.event_type, compact_data(e)) for e in entries]
    time_w = max(len("TIME"), *(len(r[0]) for r in rows))
    event_w = max(len("EVENT"), *(len(r[1]) for r in rows))
    indent = " " * (time_w + event_w + 4)
    data_w = max(20, width - len(indent)) if width else 0
    lines = [f"{'TIME'.ljust(time_w)}  {'EVENT'.ljust(event_w)}  DATA"]
    for when, event, data in rows:
        chunks = wrap_data(data, data_w) if data_w else [data]
        lines.append(f"{when.ljust(time_w)}  {event.ljust(event_w)}  {chunks[0]}")
        lines.extend(indent + chunk for chunk in chunks[1:])
    return "\n".join(line.rstrip() for line in lines)


@click.command("audit")
@click.argument("run_id")
@click.option("-j", "--json", "as_json", is_flag=True, help="Print the events as a JSON array.")
@click.option("--type", "event_type", metavar="EVENT_TYPE", help="Only events of this type.")
def command(run_id: str, as_json: bool, event_type: str | None) -> int:
    """Show the audit trail of RUN_ID (a unique prefix is enough), oldest event first.

    Event types: run_started, run_resumed, task_started, task_retried, task_succeeded,
    task_failed, task_skipped, task_cancelled, task_reused, forensic_trap_fired,
    run_completed, run_interrupted.
    """
    if event_type is not None and event_type not in AUDIT_EVENT_TYPES:
        raise UsageError(
            f"invalid event type: {event_type} (choose from {', '.join(AUDIT_EVENT_TYPES)})"
        )
    entries = audit_events(app_context().store(), run_id, event_type)
    if as_json:
        payload = [audit_event_dict(e) for e in entries]
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    elif not entries:
        click.echo(EMPTY + (f" (filter: --type {event_type})" if event_type else ""))
    else:
        # On a terminal long data wraps at its width; piped output keeps one line per event.
        width = shutil.get_terminal_size().columns if is_tty() else None
        click.echo(render_audit(entries, width))
    return 0
