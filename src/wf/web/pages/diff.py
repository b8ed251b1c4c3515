"""The comparison page ``/diff/<a>/<b>``: two runs, task by task and variable by variable."""

from __future__ import annotations

from typing import Any

from wf.rundiff import DiffStatus, diff_runs
from wf.storage import Run, Store
from wf.web.markup import duration, esc, page, run_badge, run_href, short, table

_MARKS = {
    DiffStatus.ONLY_A: "−",
    DiffStatus.ONLY_B: "+",
    DiffStatus.CHANGED: "~",
    DiffStatus.SAME: "=",
}


def _side(summary: dict[str, Any] | None) -> str:
    if summary is None:
        return '<span class="muted">absent</span>'
    if summary["state"] == "cached":  # up to date (docs/caching.md): no attempt
        return '<span class="badge s-cached">cached</span> up to date'
    code = "-" if summary["exit_code"] is None else summary["exit_code"]
    return (
        f'<span class="badge s-{esc(summary["state"])}">{esc(summary["state"])}</span> '
        f"exit {esc(code)} · attempt {esc(summary['attempt'])} · "
        f"{esc(duration(summary['duration_ms']))}"
        + (
            f'<br><span class="muted">{esc(summary["error_message"])}</span>'
            if summary["error_message"]
            else ""
        )
    )


def _overview(a: Run, b: Run) -> str:
    rows = []
    for label, va, vb in (
        ("Status", str(a.status), str(b.status)),
        ("Duration", duration(a.duration_ms), duration(b.duration_ms)),
        ("Tasks", a.total_tasks, b.total_tasks),
        ("Success", a.tasks_success, b.tasks_success),
        ("Failed", a.tasks_failed, b.tasks_failed),
        ("Skipped", a.tasks_skipped, b.tasks_skipped),
        ("Cached", a.tasks_cached, b.tasks_cached),
    ):
        mark = "~" if va != vb else ""
        rows.append((esc(label), esc(va), esc(vb), esc(mark)))
    return table(["", "Run A", "Run B", ""], rows)


def diff_page(store: Store, run_a: str, run_b: str) -> str:
    """The whole comparison page; either ID may be a prefix."""
    diff = diff_runs(store, run_a, run_b)
    a, b = diff.run_a, diff.run_b
    head = "".join(
        f'<p><b>{label}:</b> <a class="mono" href="{esc(run_href(r.id))}">{esc(short(r.id))}</a> '
        f"{esc(r.workflow_name)} {run_badge(str(r.status))}</p>"
        for label, r in (("Run A", a), ("Run B", b))
    )
    tasks = [
        (
            esc(_MARKS[t.status]),
            f'<span class="mono">{esc(t.task_id)}</span>',
            esc(str(t.status)),
            _side(t.a),
            _side(t.b),
        )
        for t in diff.tasks
    ]
    variables = [
        (
            esc(_MARKS[v.status]),
            f'<span class="mono">{esc(v.name)}</span>',
            esc(str(v.status)),
            f'<span class="mono wrap">{esc("" if v.a is None else v.a)}</span>',
            f'<span class="mono wrap">{esc("" if v.b is None else v.b)}</span>',
        )
        for v in diff.variables
    ]
    result = "Result: runs differ" if diff.changed else "Result: runs are identical"
    body = (
        '<div class="title"><h1>Run diff</h1></div>'
        f'<section class="card">{head}</section>'
        f"<h2>Overview</h2>{_overview(a, b)}"
        f"<h2>Tasks</h2>"
        + (
            table(["", "Task", "Status", "Run A", "Run B"], tasks)
            if tasks
            else '<p class="empty">No tasks.</p>'
        )
        + "<h2>Variables</h2>"
        + (
            table(["", "Name", "Status", "Run A", "Run B"], variables)
            if variables
            else '<p class="empty">No variables.</p>'
        )
        + f'<p class="result"><b>{esc(result)}</b></p>'
    )
    return page(f"diff {short(a.id)} {short(b.id)}", body, active="runs")
