"""The log page ``/runs/<id>/logs/<node>``: one attempt's log, tail first, followed live."""

from __future__ import annotations

from pathlib import Path

from wf.storage import TERMINAL_RUN_STATUSES, Store
from wf.web.logfiles import CHUNK_BYTES, confined_log_path, node_attempts, read_chunk
from wf.web.markup import (
    definitions,
    duration,
    esc,
    log_href,
    page,
    run_href,
    seg,
    short,
    task_badge,
    time_tag,
    url,
)


def log_page(store: Store, logs_dir: Path, run_id: str, node_id: str, attempt: int | None) -> str:
    """The page of NODE_ID's ATTEMPT (default: the latest) in the run; RUN_ID may be a prefix.

    Raises LogNotFound (unknown node or attempt, or a log outside the run's directory) and the
    store's run-not-found errors.
    """
    run = store.get_run(run_id)
    attempts = node_attempts(store, run.id, node_id, attempt)
    row = attempts.selected
    path = confined_log_path(logs_dir, row)
    chunk = read_chunk(path, -CHUNK_BYTES, None)
    tabs = "".join(
        f'<a href="{esc(log_href(run.id, node_id, r.attempt))}"'
        f"{' aria-current=' + chr(34) + 'page' + chr(34) if r.id == row.id else ''}>"
        f"Attempt {esc(r.attempt)} {task_badge(str(r.state))}</a>"
        for r in attempts.rows
    )
    meta = definitions(
        [
            (
                "Run",
                f'<a href="{esc(run_href(run.id))}">{esc(short(run.id))}</a> '
                f"{esc(run.workflow_name)}",
            ),
            ("Status", task_badge(str(row.state))),
            ("Started", time_tag(row.start_time, "%Y-%m-%d %H:%M:%S")),
            ("Ended", time_tag(row.end_time, "%Y-%m-%d %H:%M:%S")),
            ("Duration", esc(duration(row.duration_ms))),
            ("Exit code", esc("-" if row.exit_code is None else row.exit_code)),
            ("Error", esc(row.error_message or "-")),
            ("Command", f'<pre class="cmd">{esc(row.command)}</pre>'),
        ]
    )
    truncated = (
        f'<p class="note">The log was truncated: {esc(row.output_truncated)} bytes discarded.</p>'
        if row.output_truncated
        else ""
    )
    earlier = (
        f'<button type="button" id="log-earlier">Load earlier output ({esc(chunk.start)} bytes '
        "not shown)</button>"
        if chunk.start > 0
        else ""
    )
    text = chunk.data.decode("utf-8", errors="replace")
    following = str(row.state) == "running" and run.status not in TERMINAL_RUN_STATUSES
    api = url(f"/api/runs/{seg(run.id)}/logs/{seg(node_id)}", {"attempt": row.attempt})
    body = (
        f'<div class="title"><h1>{esc(node_id)}</h1>{task_badge(str(row.state))}</div>'
        f'<nav class="tabs" aria-label="Attempts">{tabs}</nav>{meta}{truncated}'
        f'<section class="logbox">{earlier}'
        f'<pre class="log" id="log" tabindex="0">{esc(text)}</pre>'
        f'<p class="hint" id="log-status">'
        f"{'Following live output…' if following else ''}"
        f"{'' if following or text else '(No output recorded)'}</p></section>"
    )
    data = {
        "page": "log",
        "run": run.id,
        "api": api,
        "start": str(chunk.start),
        "end": str(chunk.end),
        "follow": "1" if following else "0",
        "chunk": str(CHUNK_BYTES),
    }
    return page(f"{node_id} · {short(run.id)}", body, active="runs", data=data)
