"""The run page ``/runs/<id>``: failure summary, metadata, live DAG, tasks, variables, audit."""

from __future__ import annotations

from collections import Counter
from typing import Any

from wf.dag.cached import CachedDagError, dag_from_cache
from wf.dag.model import DAG
from wf.failure import FailureSummary, failure_summary
from wf.inspection import Inspection, cached_nodes, inspect_run
from wf.storage import TERMINAL_RUN_STATUSES, Run, Store
from wf.web.markup import (
    definitions,
    duration,
    esc,
    log_href,
    page,
    run_badge,
    run_href,
    seg,
    short,
    table,
    task_badge,
    time_tag,
)

_ERROR_CHARS = 120


def run_dag(inspection: Inspection) -> DAG | None:
    """The graph the run recorded when it started, or None (an early failure has none)."""
    if inspection.dag_cache is None:
        return None
    try:
        return dag_from_cache(inspection.dag_cache.dag_json)
    except CachedDagError:
        return None


def node_states(inspection: Inspection) -> dict[str, str]:
    """Each node's latest state (forensic nodes included; ``cached`` for a node that was up
    to date, docs/caching.md)."""
    states = {te.task_id: str(te.state) for te in inspection.latest}
    for node_id in cached_nodes(inspection.latest, inspection.cached):
        states[node_id] = "cached"
    return states


def _names(nodes: list[str], run_id: str) -> str:
    return ", ".join(f'<a href="{esc(log_href(run_id, n))}">{esc(n)}</a>' for n in nodes)


def failure_block(run: Run, summary: FailureSummary) -> str:
    """The failure summary of a failed or cancelled run: the root cause first."""
    parts = ['<section class="card failure" aria-label="Failure summary">']
    if summary.root_cause:
        label = summary.root_cause
        if summary.root_name and summary.root_name != summary.root_cause:
            label += f" ({summary.root_name})"
        attempts = f"{summary.attempts} attempt" + ("" if summary.attempts == 1 else "s")
        parts.append(
            f'<h2>Root cause: <a href="{esc(log_href(run.id, summary.root_cause))}">'
            f"{esc(label)}</a> — {esc(summary.kind)} ({esc(attempts)})</h2>"
        )
    else:
        parts.append(f"<h2>Run {esc(str(run.status))}</h2>")
    parts.append(f"<p><b>Error:</b> {esc(summary.error or '-')}</p>")
    if summary.log_path:
        parts.append(f'<p><b>Log:</b> <span class="mono">{esc(summary.log_path)}</span></p>')
    if summary.last_lines:
        parts.append('<pre class="tail">' + esc("\n".join(summary.last_lines)) + "</pre>")
    extra = []
    if summary.also_failed:
        extra.append(f"<span><b>Also failed:</b> {_names(summary.also_failed, run.id)}</span>")
    if summary.cancelled:
        extra.append(f"<span><b>Cancelled:</b> {_names(summary.cancelled, run.id)}</span>")
    if summary.not_started:
        extra.append(f"<span><b>Not started:</b> {esc(', '.join(summary.not_started))}</span>")
    if extra:
        parts.append('<p class="also">' + " ".join(extra) + "</p>")
    if summary.resumable:
        parts.append(f"<p>Resume with: <code>wf resume {esc(short(run.id))}</code></p>")
    parts.append("</section>")
    return "".join(parts)


def _metadata(run: Run, inspection: Inspection) -> str:
    cache = inspection.dag_cache
    items = [
        ("Run ID", f'<span class="mono">{esc(run.id)}</span>'),
        ("Workflow", esc(run.workflow_name)),
        ("File", f'<span class="mono">{esc(run.workflow_file)}</span>'),
        ("Status", run_badge(str(run.status))),
        ("Mode", esc(f"{run.execution_mode} (max parallel {run.max_parallel})")),
        ("Started", time_tag(run.start_time, "%Y-%m-%d %H:%M:%S")),
        ("Ended", time_tag(run.end_time, "%Y-%m-%d %H:%M:%S")),
        ("Duration", esc(duration(run.duration_ms))),
        (
            "Tasks",
            esc(
                f"{run.total_tasks} total, {run.tasks_success} success, {run.tasks_failed} "
                f"failed, {run.tasks_skipped} skipped (attempts), {run.tasks_cached} up to date"
            ),
        ),
        ("Resumes", esc(run.resume_count)),
        ("Tags", esc(", ".join(run.tags) or "-")),
        ("Owner", esc(f"{run.owner_pid}@{run.owner_host}" if run.owner_pid else "-")),
        ("Last heartbeat", time_tag(run.heartbeat_at, "%Y-%m-%d %H:%M:%S")),
        ("DAG", esc(f"{cache.total_nodes} nodes, {cache.total_levels} levels" if cache else "-")),
        ("Error", esc(run.error or "-")),
    ]
    return definitions(items)


def _tasks(inspection: Inspection) -> str:
    attempts = Counter(te.task_id for te in inspection.tasks)
    cached = cached_nodes(inspection.latest, inspection.cached)
    rows = []
    for te in inspection.latest:
        if te.task_id in cached:
            continue
        error = te.error_message or ""
        if len(error) > _ERROR_CHARS:
            error = error[: _ERROR_CHARS - 1] + "…"
        if te.output_truncated:
            error = (error + " +trunc").strip()
        rows.append(
            (
                f'<a href="{esc(log_href(te.run_id, te.task_id))}">{esc(te.task_id)}</a>'
                + (' <span class="tag">trap</span>' if te.is_forensic else ""),
                task_badge(str(te.state)),
                esc(
                    f"{te.attempt} of {attempts[te.task_id]}"
                    if attempts[te.task_id] > 1
                    else te.attempt
                ),
                esc(duration(te.duration_ms)),
                esc("-" if te.exit_code is None else te.exit_code),
                esc(error or "-"),
            )
        )
    for hit in cached.values():  # up to date (docs/caching.md): no attempt, no log
        source = hit.source_run_id
        rows.append(
            (
                esc(hit.task_id),
                task_badge("cached"),
                "-",
                "-",
                "-",
                f'up to date (recorded by run <a class="mono" href="{esc(run_href(source))}"'
                f' title="{esc(source)}">{esc(short(source))}</a>)',
            )
        )
    if not rows:
        return '<p class="empty">No task has started yet.</p>'
    return table(["Task", "Status", "Attempt", "Duration", "Exit code", "Error"], rows)


def _variables(inspection: Inspection) -> str:
    if not inspection.variables:
        return '<p class="empty">No variables recorded.</p>'
    rows = [
        (
            f'<span class="mono">{esc(v.variable_name)}</span>',
            esc(v.variable_type),
            f'<span class="mono wrap">{esc(v.variable_value)}</span>',
            esc(v.set_by_task),
        )
        for v in inspection.variables
    ]
    return table(["Name", "Type", "Value", "Set by"], rows)


def _forensic(inspection: Inspection) -> str:
    if not inspection.forensic_logs:
        return ""
    items = "".join(
        f"<details><summary>{esc(f.log_type)} · {esc(f.task_id or 'run')}"
        f"{' · ' + esc(f.trigger_reason) if f.trigger_reason else ''}</summary>"
        f'<pre class="log">{esc(f.log_data)}</pre></details>'
        for f in inspection.forensic_logs
    )
    return f"<h2>Forensic logs</h2>{items}"


def _audit(store: Store, run_id: str) -> str:
    entries = store.list_audit_trail(run_id=run_id)
    if not entries:
        return '<p class="empty">No audit events recorded for this run.</p>'
    rows = [
        (
            time_tag(e.created_at, "%H:%M:%S"),
            esc(e.event_type),
            f'<span class="mono wrap">{esc(e.event_data)}</span>',
        )
        for e in entries
    ]
    return table(["Time", "Event", "Data"], rows, cls="audit")


def run_sections(store: Store, run_id: str) -> dict[str, Any]:
    """The live parts of the run page: ``head`` and ``body`` markup, node ``states``, run
    ``status`` and whether it is ``terminal``. RUN_ID may be a prefix."""
    inspection = inspect_run(store, run_id)
    run = inspection.run
    dag = run_dag(inspection)
    head = (
        f'<div class="title"><h1>{esc(run.workflow_name)}</h1>{run_badge(str(run.status))}'
        f'<span class="mono muted" title="{esc(run.id)}">{esc(run.id)}</span></div>'
    )
    cached = cached_nodes(inspection.latest, inspection.cached)
    summary = (
        failure_summary(run, dag, inspection.tasks, cached=cached) if dag is not None else None
    )
    if summary is None and run.status.value in ("failed", "cancelled"):
        summary = FailureSummary(error=run.error, resumable=True)
    if summary is not None:
        head += failure_block(run, summary)
    head += (
        '<details class="card" open><summary>Run details</summary>'
        f"{_metadata(run, inspection)}</details>"
    )
    body = (
        f"<h2>Tasks</h2>{_tasks(inspection)}"
        f"<h2>Variables</h2>{_variables(inspection)}"
        f"{_forensic(inspection)}"
        f"<details><summary>Audit trail</summary>{_audit(store, run.id)}</details>"
    )
    return {
        "id": run.id,
        "status": str(run.status),
        "terminal": run.status in TERMINAL_RUN_STATUSES,
        "head": head,
        "body": body,
        "states": node_states(inspection),
        "has_graph": dag is not None,
    }


def run_page(store: Store, run_id: str) -> str:
    """The whole run page."""
    parts = run_sections(store, run_id)
    rid = parts["id"]
    if parts["has_graph"]:
        graph = (
            '<section class="graph"><h2>Graph</h2>'
            f'<iframe id="graph-frame" src="{esc(run_href(rid))}/graph" '
            f'title="Task graph of run {esc(short(rid))}"></iframe>'
            '<p class="hint">Click a task to open its log · drag to pan · scroll to zoom</p>'
            "</section>"
        )
    else:
        graph = '<p class="empty">This run recorded no graph (it failed before starting).</p>'
    body = (
        f'<div id="run-head">{parts["head"]}</div>{graph}<div id="run-body">{parts["body"]}</div>'
    )
    data = {
        "page": "run",
        "run": rid,
        "src": f"/runs/{seg(rid)}?partial=1",
        "terminal": "1" if parts["terminal"] else "0",
    }
    return page(f"{parts['id'][:8]} {parts['status']}", body, active="runs", data=data)
