"""``wf health``: database, stale runs, workflows and disk usage at a glance.

See docs/cli.md#wf-health.
"""

from __future__ import annotations

import json

import click

from wf.cli.context import app_context
from wf.cli.exitcodes import ExitCode
from wf.cli.fmt import Style
from wf.health import HealthReport, check_health
from wf.storage import StoreError

FAILED = "Error: one or more health checks failed"


def human_bytes(size: int) -> str:
    """``512 B``, ``4.0 KiB``, ``1.2 MiB``, ``3.4 GiB``."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.1f} {unit}"


def render_health(report: HealthReport, style: Style) -> str:
    """The ``=== SYSTEM HEALTH ===`` block."""
    ok, fail, warn = style.sym("ok"), style.sym("fail"), style.sym("warn")
    if report.database_ok:
        database = style.paint(f"{ok} ok", "green") + (
            f" ({report.database_path}, {human_bytes(report.database_size_bytes)}, "
            f"schema v{report.schema_version})"
        )
    else:
        reason = report.database_error or "check failed"
        if report.database_path not in reason:
            reason = f"{report.database_path}: {reason}"
        database = style.paint(f"{fail} error", "red") + f" ({reason})"
    stale = str(report.stale_runs)
    if report.stale_runs:
        stale = style.paint(f"{warn} {stale}", "yellow") + " (no heartbeat for 30+ minutes)"
    all_valid = report.workflows_valid == report.workflows_total
    valid = f"{report.workflows_valid}/{report.workflows_total} valid"
    workflows = (
        style.paint(f"{ok} {valid}", "green")
        if all_valid
        else style.paint(f"{fail} {valid}", "red")
    )
    interrupted = str(report.interrupted_runs)
    if report.interrupted_runs:
        interrupted += " (resumable)"
    if not report.database_ok:  # these come from the database: unknown
        stale = interrupted = "-"
    rate = report.success_rate_7d
    lines = [
        "=== SYSTEM HEALTH ===",
        f"Database:        {database}",
        f"Stale runs:      {stale}",
        f"Interrupted:     {interrupted}",
        f"Workflows:       {workflows}",
    ]
    for problem in report.workflow_errors:
        first = problem.errors[0] if problem.errors else "invalid"
        lines.append(f"  ! {problem.workflow}: {first}")
    lines += [
        f"Log disk usage:  {human_bytes(report.log_disk_bytes)}",
        f"Success rate 7d: {'no data' if rate < 0 else f'{rate * 100:.1f}%'}",
        f"Cache:           {cache_text(report)}",
        style.paint(f"{style.sym('bullet')} System is healthy", "green")
        if report.healthy
        else style.paint(f"{style.sym('bullet')} System needs attention", "yellow"),
    ]
    return "\n".join(lines)


def cache_text(report: HealthReport) -> str:
    """The size of the incremental-run cache (docs/caching.md), or ``-`` without a database."""
    if not report.database_ok:
        return "-"
    return (
        f"{report.cache_records} record(s) of {report.cache_workflows} workflow(s), "
        f"{human_bytes(report.cache_bytes)}; {report.cache_file_hashes} file hash(es)"
    )


@click.command("health")
@click.option("-j", "--json", "as_json", is_flag=True, help="Print the checks as JSON.")
def command(as_json: bool) -> int:
    """Check the database, stale runs, workflow files, log disk usage and recent success rate.

    Exits 1 when the database fails its check, a workflow is invalid or a run is stale (running
    with no heartbeat for 30 minutes).
    """
    app = app_context()
    try:
        store = app.store()
    except StoreError:
        store = None  # check_health tries again and reports why it cannot open
    report = check_health(app.config, store)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_health(report, Style()))
    if not report.healthy:
        click.echo(FAILED, err=True)
        return ExitCode.FAILURE
    return 0
