"""The run history page ``/``: the ``wf runs`` table, filters, paging, search and summary."""

from __future__ import annotations

from collections.abc import Mapping

from wf.history import RunFilters, RunListing, RunPage, list_history
from wf.storage import RunStatus, RunSummary, Store
from wf.web.markup import duration, esc, page, run_badge, run_href, short, table, time_tag, url
from wf.web.params import filter_params, history_query


def summary_block(summary: RunSummary) -> str:
    """The ``wf runs --stats`` summary as a row of figures."""
    rate = f"{summary.success_rate * 100:.1f}%" if summary.finished else "-"
    figures = [
        ("Total runs", str(summary.total_runs)),
        ("Success", str(summary.success)),
        ("Failed", str(summary.failed)),
        ("Running", str(summary.running + summary.resuming)),
        ("Cancelled", str(summary.cancelled)),
        ("Interrupted", str(summary.interrupted)),
        ("Success rate", rate),
        ("Avg duration", duration(summary.avg_duration_ms if summary.total_runs else None)),
        ("Total duration", duration(summary.total_duration_ms)),
        ("Avg tasks/run", f"{summary.avg_tasks:.1f}"),
    ]
    cells = "".join(f"<div><span>{esc(k)}</span><b>{esc(v)}</b></div>" for k, v in figures)
    return f'<section class="stats" aria-label="Summary">{cells}</section>'


def _filters_form(params: Mapping[str, str], workflows: list[str]) -> str:
    def value(name: str) -> str:
        return esc(params.get(name, ""))

    statuses = "".join(
        f'<option value="{s.value}"{" selected" if params.get("status") == s.value else ""}>'
        f"{s.value}</option>"
        for s in RunStatus
    )
    names = "".join(f'<option value="{esc(n)}"></option>' for n in workflows)
    active = any(params.get(k) for k in ("workflow", "status", "tag", "since", "until"))
    return f"""<form class="search" method="get" action="/" role="search">
<input type="search" name="q" value="{value("q")}" aria-label="Search"
 placeholder="Run ID or workflow"> <button type="submit">Search</button></form>
<details class="filters"{" open" if active else ""}><summary>Filters</summary>
<form class="filters" method="get" action="/">
<label>Workflow <input name="workflow" list="wf-names" value="{value("workflow")}"></label>
<datalist id="wf-names">{names}</datalist>
<label>Status <select name="status"><option value="">any</option>{statuses}</select></label>
<label>Tag <input name="tag" value="{value("tag")}"></label>
<label>Since <input type="date" name="since" value="{value("since")}"></label>
<label>Until <input type="date" name="until" value="{value("until")}"></label>
<button type="submit">Filter</button> <a class="button" href="/">Clear</a>
</form></details>"""


def runs_table(listing: RunListing, filters: RunFilters, pg: RunPage, keep: dict[str, str]) -> str:
    """The table of one page of runs with its paging line (the part that updates live)."""
    if listing.summary.total_runs == 0:
        return '<p class="empty">No runs found matching the criteria</p>'
    rows = [
        (
            f'<a class="mono" href="{run_href(r.id)}" title="{esc(r.id)}">{esc(short(r.id))}</a>',
            esc(r.workflow_name),
            run_badge(str(r.status)),
            time_tag(r.start_time),
            esc(duration(r.duration_ms)),
            esc(r.total_tasks),
            esc(r.tasks_success),
            esc(r.tasks_failed),
            esc(r.tasks_skipped),
            esc(r.tasks_cached),
        )
        for r in listing.runs
    ]
    headers = ["Run ID", "Workflow", "Status", "Started at", "Duration", "Tasks"]
    headers += ["Success", "Failed", "Skipped", "Cached"]
    out = table(headers, rows, cls="runs", keys=[r.id for r in listing.runs])
    total = listing.summary.total_runs
    first, last = pg.offset + 1, pg.offset + len(listing.runs)
    links = []
    if pg.offset > 0:
        prev = max(0, pg.offset - pg.limit)
        links.append(
            f'<a rel="prev" href="{esc(url("/", {**keep, "offset": prev or None}))}">← Newer</a>'
        )
    if last < total:
        links.append(f'<a rel="next" href="{esc(url("/", {**keep, "offset": last}))}">Older →</a>')
    shown = f"Showing {first}–{last} of {total} runs" if listing.runs else f"{total} runs"
    return out + f'<nav class="pager"><span>{esc(shown)}</span>{" ".join(links)}</nav>'


def history_parts(store: Store | None, params: Mapping[str, str]) -> tuple[RunListing, str]:
    """The listing for PARAMS and the markup of its live part (summary, table, pager)."""
    filters, pg = history_query(params)
    listing = RunListing(RunSummary()) if store is None else list_history(store, filters, pg)
    keep = filter_params(params)
    live = summary_block(listing.summary) + runs_table(listing, filters, pg, keep)
    return listing, live


def history_page(store: Store | None, params: Mapping[str, str]) -> str:
    """The whole history page."""
    _, live = history_parts(store, params)
    workflows = sorted(store.workflow_stats()) if store is not None else []
    body = (
        '<div class="title"><h1>Runs</h1></div>'
        + _filters_form(params, workflows)
        + f'<div id="history" data-src="{esc(url("/", {**dict(params), "partial": 1}))}">'
        + live
        + "</div>"
    )
    return page("Runs", body, active="runs", data={"page": "history"})
