"""``wf validate``: check one workflow, or every workflow in the workflows directory."""

from __future__ import annotations

import json

import click

from wf.cli.context import app_context
from wf.cli.exitcodes import ExitCode
from wf.cli.fmt import Style, plural, render_table
from wf.validation import ValidationResult, validate_workflow, workflow_files


def _print_one(result: ValidationResult, style: Style) -> None:
    mark = (
        style.paint(f"{style.sym('ok')} PASS", "green")
        if result.valid
        else style.paint(f"{style.sym('fail')} FAIL", "red")
    )
    click.echo(f"{mark} {result.name}")
    click.echo(f"Tasks: {result.task_count}")
    if result.parallelisable_tasks:
        click.echo(f"Parallelisable: {plural(result.parallelisable_tasks, 'task')}")
    if result.valid:
        click.echo(f"Execution Levels: {len(result.execution_levels)}")
        for i, level in enumerate(result.execution_levels):
            click.echo(f"  Level {i}: {', '.join(level)}")
    click.echo("Errors:" + ("" if result.errors else " none"))
    for error in result.errors:
        click.echo(f"  - {error}")
    click.echo("Warnings:" + ("" if result.warnings else " none"))
    for warning in result.warnings:
        click.echo(f"  - {warning}")
    if not result.triggers:
        click.echo("Triggers: none (manual execution only)")
    else:
        click.echo("Triggers:")
        for trigger in result.triggers:
            config = ", ".join(f"{k}={v}" for k, v in trigger["config"].items())
            click.echo(f"  - {trigger['type']} {config} (not executed by wf)")


def _check_store(problems: list[str]) -> None:
    try:
        store = app_context().store(sweep=False)
        result = store.quick_check()
        if result != ["ok"]:
            problems.append("database quick_check failed: " + "; ".join(result[:5]))
    except Exception as exc:  # any database problem is reported, not raised
        problems.append(f"database error: {exc}")


@click.command("validate")
@click.argument("workflow", required=False)
@click.option("-j", "--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--store", is_flag=True, help="Also check that the database opens and is sound.")
def command(workflow: str | None, as_json: bool, store: bool) -> int:
    """Validate WORKFLOW (a name or a path), or every workflow in the workflows directory.

    Prints errors, warnings, execution levels and order. Exit 2 when a workflow is invalid.
    """
    app = app_context()
    if workflow is not None:
        results = [
            validate_workflow(
                workflow, workflows_dir=app.config.workflows_dir, pools=app.config.pools
            )
        ]
    else:
        directory = app.config.workflows_dir
        results = [validate_workflow(p, pools=app.config.pools) for p in workflow_files(directory)]
    problems: list[str] = []
    if store:
        _check_store(problems)
    invalid = [r for r in results if not r.valid]
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False))
    elif workflow is not None:
        _print_one(results[0], Style())
    elif not results:
        click.echo(f"No workflows found in {app.config.workflows_dir}")
    else:
        style = Style()
        rows = [
            (
                r.name,
                f"{style.sym('ok')} valid" if r.valid else f"{style.sym('fail')} invalid",
                r.task_count,
                len(r.execution_levels),
                len(r.errors),
                len(r.warnings),
            )
            for r in results
        ]
        click.echo(
            render_table(["WORKFLOW", "STATUS", "TASKS", "LEVELS", "ERRORS", "WARNINGS"], rows)
        )
        click.echo(f"\nSummary: {len(results) - len(invalid)}/{len(results)} workflows valid")
    for problem in problems:
        click.echo(f"Error: {problem}", err=True)
    if invalid:
        if workflow is not None:
            click.echo(f"Error: validation failed for workflow '{invalid[0].name}'", err=True)
        else:
            click.echo(f"Error: {plural(len(invalid), 'workflow')} failed validation", err=True)
        return ExitCode.USAGE
    return ExitCode.FAILURE if problems else ExitCode.OK
