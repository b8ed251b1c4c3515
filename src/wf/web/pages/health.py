"""The health page ``/health``: the ``wf health`` report."""

from __future__ import annotations

from wf.health import HealthReport
from wf.web.markup import definitions, esc, human_bytes, page


def health_page(report: HealthReport) -> str:
    """The whole health page."""
    if report.database_ok:
        database = (
            f'<span class="badge s-success">✓ ok</span> {esc(report.database_path)}, '
            f"{esc(human_bytes(report.database_size_bytes))}, schema v{esc(report.schema_version)}"
        )
    else:
        reason = report.database_error or "check failed"
        database = f'<span class="badge s-failed">✗ error</span> {esc(reason)}'
    valid = f"{report.workflows_valid}/{report.workflows_total} valid"
    all_valid = report.workflows_valid == report.workflows_total
    workflows = (
        f'<span class="badge s-{"success" if all_valid else "failed"}">'
        f"{'✓' if all_valid else '✗'} {esc(valid)}</span>"
    )
    problems = "".join(
        f"<li><b>{esc(p.workflow)}</b>: {esc(p.errors[0] if p.errors else 'invalid')}</li>"
        for p in report.workflow_errors
    )
    if problems:
        workflows += f'<ul class="problems">{problems}</ul>'
    rate = report.success_rate_7d
    stale = "-" if not report.database_ok else str(report.stale_runs)
    if report.database_ok and report.stale_runs:
        stale = (
            f'<span class="badge s-interrupted">⚠ {esc(stale)}</span> '
            "(no heartbeat for 30+ minutes)"
        )
    interrupted = "-" if not report.database_ok else str(report.interrupted_runs)
    if report.database_ok and report.interrupted_runs:
        interrupted += " (resumable)"
    items = [
        ("Database", database),
        ("Stale runs", stale if "<" in stale else esc(stale)),
        ("Interrupted", esc(interrupted)),
        ("Workflows", workflows),
        ("Log disk usage", esc(human_bytes(report.log_disk_bytes))),
        ("Success rate 7d", esc("no data" if rate < 0 else f"{rate * 100:.1f}%")),
    ]
    if report.database_ok:  # incremental runs (docs/caching.md), as `wf health` prints it
        items.append(
            (
                "Cache",
                esc(
                    f"{report.cache_records} record(s) of {report.cache_workflows} "
                    f"workflow(s), {human_bytes(report.cache_bytes)}; "
                    f"{report.cache_file_hashes} file hash(es)"
                ),
            )
        )
    verdict = (
        '<p class="verdict ok">● System is healthy</p>'
        if report.healthy
        else '<p class="verdict bad">● System needs attention</p>'
    )
    body = (
        '<div class="title"><h1>System health</h1></div>'
        f'<section class="card">{definitions(items)}{verdict}</section>'
    )
    return page("Health", body, active="health")
