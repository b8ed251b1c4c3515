"""HTML building blocks of the web UI: escaping, the page shell, badges, times and tables.

Every text that reaches a page goes through ``esc`` (or is a fixed string of ours): the pages
never contain inline script or style, so ``default-src 'self'`` holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape
from urllib.parse import quote, urlencode

from wf._version import __version__
from wf.dag.render.analysis import STATE_ICONS

#: Run status -> (icon, label), as the terminal shows them (docs/cli.md).
RUN_STATUS = {
    "success": ("✓", "SUCCESS"),
    "failed": ("✗", "FAILED"),
    "running": ("⟳", "RUNNING"),
    "pending": ("⊙", "PENDING"),
    "cancelled": ("⊗", "CANCELLED"),
    "resuming": ("↻", "RESUMING"),
    "interrupted": ("⚠", "INTERRUPTED"),
}
#: Task state -> icon (the graph renderer's own).
TASK_ICONS = STATE_ICONS


def esc(value: object) -> str:
    """VALUE as text that HTML shows literally, quotes included (safe in attributes)."""
    return escape("" if value is None else str(value), quote=True)


def url(path: str, params: dict[str, object] | None = None) -> str:
    """PATH (its segments percent-encoded by the caller) with query PARAMS (None dropped)."""
    query = {k: str(v) for k, v in (params or {}).items() if v is not None and v != ""}
    return path + ("?" + urlencode(query) if query else "")


def seg(text: str) -> str:
    """One URL path segment: everything but unreserved characters percent-encoded."""
    return quote(text, safe="")


def run_href(run_id: str) -> str:
    """The run page of RUN_ID."""
    return f"/runs/{seg(run_id)}"


def log_href(run_id: str, node_id: str, attempt: int | None = None) -> str:
    """The log page of one node (one attempt) of a run."""
    return url(f"/runs/{seg(run_id)}/logs/{seg(node_id)}", {"attempt": attempt})


def short(run_id: str) -> str:
    """The 8-character form of a run ID."""
    return run_id[:8]


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """VALUE in local time, or ``-``."""
    return "-" if value is None else value.astimezone().strftime(fmt)


def time_tag(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A ``<time>`` element: local text, the UTC instant as its machine value."""
    if value is None:
        return "-"
    return f'<time datetime="{esc(value.isoformat())}">{esc(local_time(value, fmt))}</time>'


def duration(ms: int | None) -> str:
    """``1h 2m 3s``, ``2m 3s``, ``12.3s`` or ``-`` (the terminal's table form)."""
    if ms is None:
        return "-"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes}m {secs}s" if hours else f"{minutes}m {secs}s"


def human_bytes(size: int) -> str:
    """``512 B``, ``4.0 KiB``, ``1.2 MiB``…"""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for name in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or name == "TiB":
            return f"{value:.1f} {name}"
    raise AssertionError("unreachable")


def run_badge(status: str) -> str:
    """A coloured run-status label with its icon."""
    icon, label = RUN_STATUS.get(status, ("?", status.upper()))
    return f'<span class="badge s-{esc(status)}">{esc(icon)} {esc(label)}</span>'


def task_badge(state: str) -> str:
    """A coloured task-state label with its icon."""
    icon = TASK_ICONS.get(state, "?")
    return f'<span class="badge s-{esc(state)}">{esc(icon)} {esc(state)}</span>'


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    cls: str = "",
    body_id: str = "",
    keys: Sequence[str] | None = None,
) -> str:
    """A table; HEADERS are escaped here, cells must already be markup. KEYS become the rows'
    ``data-key`` attributes (how the script finds a row to update)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    rows = list(rows)
    marks = [f' data-key="{esc(k)}"' for k in keys] if keys else [""] * len(rows)
    body = "".join(
        f"<tr{mark}>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>"
        for mark, row in zip(marks, rows, strict=True)
    )
    tbody = f'<tbody id="{esc(body_id)}">' if body_id else "<tbody>"
    return (
        f'<div class="scroll"><table class="{esc(cls)}"><thead><tr>{head}</tr></thead>'
        f"{tbody}{body}</tbody></table></div>"
    )


def definitions(items: Iterable[tuple[str, str]]) -> str:
    """A ``<dl>`` of (label, markup) pairs."""
    inner = "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in items)
    return f'<dl class="meta">{inner}</dl>'


def page(title: str, body: str, *, active: str = "", data: dict[str, str] | None = None) -> str:
    """A whole page: the shared header and navigation, BODY (markup), the UI's script.

    DATA become ``data-*`` attributes of ``<body>``: how pages pass values to the script.
    """
    attrs = "".join(f' data-{esc(k)}="{esc(v)}"' for k, v in (data or {}).items())
    nav = "".join(
        f'<a href="{href}"{" aria-current=" + chr(34) + "page" + chr(34) if key == active else ""}>'
        f"{label}</a>"
        for key, href, label in (
            ("runs", "/", "Runs"),
            ("workflows", "/workflows", "Workflows"),
            ("health", "/health", "Health"),
        )
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{esc(title)} · wf</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/ui.css">
<script src="/static/ui.js" defer></script>
</head>
<body{attrs}>
<header class="top"><a class="brand" href="/">wf</a><nav>{nav}</nav>
<span class="live" id="live-dot" hidden title="Live updates are on">live</span></header>
<main>
{body}
</main>
<footer>wf {esc(__version__)} · read-only view of the run history</footer>
</body>
</html>
"""


def error_page(status: int, message: str) -> str:
    """A page that says what went wrong (not found, bad parameter)."""
    title = {400: "Bad request", 404: "Not found", 405: "Method not allowed"}.get(status, "Error")
    body = (
        f'<section class="card"><h1>{esc(title)}</h1><p>{esc(message)}</p>'
        '<p><a href="/">Back to the run history</a></p></section>'
    )
    return page(title, body)
