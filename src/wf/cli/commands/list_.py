"""``wf list``: the workflows in the workflows directory."""

from __future__ import annotations

import json

import click

from wf.cli.context import app_context
from wf.cli.fmt import local_time, render_table
from wf.validation import describe_workflow, workflow_files


@click.command("list")
@click.option("-j", "--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.option("-d", "--detailed", is_flag=True, help="Add run counts and the last run.")
def command(as_json: bool, detailed: bool) -> int:
    """List the workflows in the workflows directory with their task counts."""
    app = app_context()
    directory = app.config.workflows_dir
    infos = [describe_workflow(p, pools=app.config.pools) for p in workflow_files(directory)]
    stats = app.store().workflow_stats() if detailed and infos else {}
    if as_json:
        items = []
        for info in infos:
            item = info.to_dict()
            if detailed:
                s = stats.get(info.name)
                item["total_runs"] = s.total_runs if s else 0
                item["success_count"] = s.success_count if s else 0
                item["failed_count"] = s.failed_count if s else 0
                item["last_run"] = (
                    s.last_run.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if s and s.last_run else None
                )
            items.append(item)
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return 0
    if not infos:
        click.echo(f"No workflows found in {directory}")
        return 0
    headers = ["WORKFLOW", "TASKS"]
    if detailed:
        headers += ["TOTAL RUNS", "SUCCESS", "FAILED", "LAST RUN"]
    rows = []
    for info in infos:
        name = info.name if info.valid else f"{info.name} (invalid)"
        row: list[object] = [name, info.tasks]
        if detailed:
            s = stats.get(info.name)
            row += [
                s.total_runs if s else 0,
                s.success_count if s else 0,
                s.failed_count if s else 0,
                local_time(s.last_run, "%Y-%m-%d %H:%M:%S") if s and s.last_run else "-",
            ]
        rows.append(row)
    click.echo(render_table(headers, rows))
    return 0
