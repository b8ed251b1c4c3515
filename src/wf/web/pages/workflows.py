"""The workflows page ``/workflows``: ``wf list --detailed``, each with its graph and last runs."""

from __future__ import annotations

from pathlib import Path

from wf.storage import Store, WorkflowStats
from wf.validation import WorkflowInfo, describe_workflow, workflow_files
from wf.web.markup import duration, esc, page, run_badge, run_href, seg, short, time_tag, url

#: Runs listed under each workflow.
LAST_RUNS = 5


def workflow_path(workflows_dir: Path, name: str) -> Path | None:
    """The file in the workflows directory whose workflow (or file stem) is NAME, else None.

    Only files listed in the directory qualify: a request never names a path.
    """
    for path in workflow_files(workflows_dir):
        if path.stem == name:
            return path
    for path in workflow_files(workflows_dir):
        if describe_workflow(path).name == name:
            return path
    return None


def _card(
    info: WorkflowInfo, path: Path, store: Store | None, all_stats: dict[str, WorkflowStats]
) -> str:
    stats = all_stats.get(info.name)
    figures = (
        f"{stats.total_runs} runs · {stats.success_count} success · {stats.failed_count} failed"
        if stats
        else "no runs yet"
    )
    head = (
        f'<h2 id="wf-{esc(path.stem)}">{esc(info.name)}'
        + ("" if info.valid else ' <span class="badge s-failed">invalid</span>')
        + "</h2>"
        f'<p class="muted">{esc(info.tasks)} task(s) · {esc(figures)} · '
        f'<span class="mono">{esc(path.name)}</span></p>'
    )
    if info.description:
        head += f"<p>{esc(info.description)}</p>"
    if info.tags:
        head += "<p>" + " ".join(f'<span class="tag">{esc(t)}</span>' for t in info.tags) + "</p>"
    graph = ""
    if info.valid:
        graph = (
            f'<details><summary>Graph</summary><iframe class="small" loading="lazy" '
            f'src="/workflows/{esc(seg(path.stem))}/graph" title="Graph of {esc(info.name)}">'
            "</iframe></details>"
        )
    runs = store.list_runs(workflow=info.name, limit=LAST_RUNS) if store is not None else []
    items = "".join(
        f'<li><a class="mono" href="{esc(run_href(r.id))}">{esc(short(r.id))}</a> '
        f"{run_badge(str(r.status))} {time_tag(r.start_time)} {esc(duration(r.duration_ms))}</li>"
        for r in runs
    )
    last = (
        f'<ul class="runlist">{items}</ul>'
        f'<p><a href="{esc(url("/", {"workflow": info.name}))}">'
        f"All runs of {esc(info.name)} →</a></p>"
        if items
        else ""
    )
    return f'<section class="card">{head}{graph}{last}</section>'


def workflows_page(workflows_dir: Path, store: Store | None) -> str:
    """The whole workflows page."""
    files = workflow_files(workflows_dir)
    if not files:
        cards = f'<p class="empty">No workflows found in {esc(workflows_dir)}</p>'
    else:
        stats = store.workflow_stats() if store is not None else {}
        cards = "".join(_card(describe_workflow(p), p, store, stats) for p in files)
    body = '<div class="title"><h1>Workflows</h1></div>' + cards
    return page("Workflows", body, active="workflows")
