"""``wf graph``: draw a workflow's DAG as ascii, dot, mermaid, json or self-contained html."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from wf.cli.context import app_context
from wf.cli.fmt import Style, short_id, supports_unicode, use_colour
from wf.dag import DAG, load_dag
from wf.errors import UsageError
from wf.files import write_private_file

FORMATS = ("ascii", "dot", "html", "mermaid", "json")


def _run_states(run_id: str, dag: DAG) -> dict[str, str]:
    """The latest state per node in RUN_ID; warns when the run is of another workflow."""
    app = app_context()
    store = app.store()
    run = store.get_run(run_id)
    if run.workflow_name != dag.name:
        app.diag(
            "warn",
            f"run {short_id(run.id)} is a run of workflow {run.workflow_name!r}, not "
            f"{dag.name!r}: only nodes with the same ID are coloured",
        )
    from wf.inspection import node_states

    return node_states(store, run.id)


@click.command("graph")
@click.argument("workflow")
@click.option(
    "-f",
    "--format",
    "fmt",
    default="ascii",
    metavar="FORMAT",
    help="ascii (default), dot, html, mermaid or json.",
)
@click.option("-d", "--detail", is_flag=True, help="Add a details section per task (ascii).")
@click.option("--stats", is_flag=True, help="Add graph statistics (ascii).")
@click.option("--matrix", is_flag=True, help="Add the matrix expansions (ascii).")
@click.option("--forensic", is_flag=True, help="Add the forensic (trap) tasks (ascii).")
@click.option("--triggers", is_flag=True, help="Add the declared triggers (ascii).")
@click.option(
    "--colour/--no-colour",
    "--color/--no-color",
    default=None,
    help="Force colour on or off (default: auto).",
)
@click.option("--highlight", metavar="TASK", help="Emphasise TASK, its ancestors and descendants.")
@click.option("--run", "run_id", metavar="RUN_ID", help="Colour nodes by their state in RUN_ID.")
@click.option("-o", "--export", "export", metavar="FILE", help="Write to FILE instead of stdout.")
def command(
    workflow: str,
    fmt: str,
    detail: bool,
    stats: bool,
    matrix: bool,
    forensic: bool,
    triggers: bool,
    colour: bool | None,
    highlight: str | None,
    run_id: str | None,
    export: str | None,
) -> int:
    """Draw the DAG of WORKFLOW (a name or a path).

    The html format writes one self-contained file (no network needed) to --export or to
    <workflow>_graph.html in the current directory.
    """
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise UsageError(f"unsupported format: {fmt} (choose from {', '.join(FORMATS)})")
    from wf.dag.render import render

    app = app_context()
    dag = load_dag(workflow, workflows_dir=app.config.workflows_dir, pools=app.config.pools)
    for warning in dag.warnings:
        app.diag("warn", warning)
    if highlight:
        from wf.dag.render import resolve_highlight

        resolve_highlight(dag, highlight)  # an unknown task is a usage error before rendering
    states = _run_states(run_id, dag) if run_id else None
    opts: dict[str, Any] = {"states": states}
    if fmt == "ascii":
        opts.update(
            detail=detail,
            stats=stats,
            matrix=matrix,
            forensic=forensic,
            triggers=triggers,
            highlight=highlight,
            colour=(use_colour() if colour is None else colour) and export is None,
            unicode=supports_unicode() or export is not None,
        )
    elif fmt != "json":
        opts["highlight"] = highlight
    text = render(dag, fmt, **opts)
    if fmt == "html":
        path = Path(export or f"{dag.name}_graph.html")
        write_private_file(path, text)
        click.echo(f"{Style().sym('ok')} Graph written to {path}")
        return 0
    if export:
        write_private_file(Path(export), text)
        click.echo(f"graph written to {os.path.abspath(export)}", err=True)
        return 0
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0
