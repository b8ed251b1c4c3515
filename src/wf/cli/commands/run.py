"""``wf run``: execute a workflow (or print its plan with --dry-run)."""

from __future__ import annotations

import json
from typing import Any

import click

from wf.cli.context import app_context
from wf.cli.fmt import plural
from wf.cli.session import (
    CancelRequest,
    choose_mode,
    choose_runner,
    debug_plan,
    make_executor,
    make_progress,
    parse_timeout,
    parse_vars,
    report_run,
    signal_cancel,
)
from wf.dag import DAG, load_dag
from wf.dag.unset import unset_variable_warnings
from wf.executor.cache import CacheOptions, Explanation, explain_plan
from wf.secrets import Secrets, parse_secret_args


def mode_options(func: Any, *, resume: bool = False) -> Any:
    """The executor-selection flags shared by run and resume."""
    options = [
        click.option(
            "--sequential",
            is_flag=True,
            help="Run one task at a time" + ("." if resume else " (default)."),
        ),
        click.option("--parallel", is_flag=True, help="Run level by level, in parallel."),
        click.option(
            "--work-stealing",
            is_flag=True,
            help="Start each task as soon as its dependencies are done.",
        ),
        click.option(
            "-j",
            "--jobs",
            type=int,
            metavar="N",
            help="Shorthand for --work-stealing --max-parallel N.",
        ),
        click.option(
            "--schedule",
            type=click.Choice(["critical-path", "fifo"]),
            default="critical-path",
            show_default=True,
            help="Work-stealing start order when more tasks are ready than workers are free: "
            "longest remaining path first (weighted by earlier runs), or release order.",
        ),
        click.option(
            "--max-parallel",
            type=int,
            metavar="N",
            help="Concurrency of the parallel modes (default: "
            + ("the run's stored value; 0 means the same" if resume else "config, else 4")
            + ").",
        ),
        click.option(
            "--executor",
            type=click.Choice(["local", "dask"]),
            help="Where attempts run: this machine, or a Dask cluster (needs wf[dask]; "
            "default: config executor, else local).",
        ),
        click.option(
            "--scheduler",
            metavar="ADDRESS",
            help="The Dask scheduler, e.g. tcp://10.0.0.5:8786 (with --executor dask; "
            "default: config dask_scheduler).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def run_options(func: Any, *, resume: bool = False) -> Any:
    """Options shared by run and resume."""
    options = [
        click.option(
            "--var",
            "variables",
            multiple=True,
            metavar="KEY=VALUE",
            help="Set a variable (repeatable).",
        ),
        click.option(
            "--secret",
            "secret_args",
            multiple=True,
            metavar="KEY=VALUE",
            help="Set a secret variable: masked as *** wherever wf writes (repeatable).",
        ),
        click.option(
            "--env-file",
            metavar="FILE",
            help="Read the workflow's declared secrets from FILE (KEY=VALUE lines, mode 0600).",
        ),
        click.option(
            "--timeout",
            metavar="DURATION",
            help=f"Cancel the {'resume' if resume else 'run'} after DURATION (e.g. 90s, 1h30m).",
        ),
        click.option("--print-output", is_flag=True, help="Print each task's output."),
        click.option(
            "--clean-env",
            is_flag=True,
            help="Start every task with an empty environment"
            + (" (default: the run's stored setting)." if resume else "."),
        ),
        click.option("--plain", is_flag=True, help="Plain progress lines, even on a terminal."),
        click.option(
            "--json",
            "as_json",
            is_flag=True,
            help="No progress; print the result as JSON."
            if resume
            else "No progress; print the result (or the plan) as JSON.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def cli_secrets(dag: DAG, secret_vars: dict[str, str], env_file: str | None) -> Secrets:
    """The run's secrets: the declared ones from --env-file or the environment, and --secret."""
    import os

    from wf.secrets import read_env_file, resolve_secrets

    return resolve_secrets(
        dag.secrets,
        environ=os.environ,
        env_file=read_env_file(env_file) if env_file else None,
        variables=secret_vars,
    )


def plan_text(dag: DAG, mode: str, workers: int) -> str:
    """The --dry-run plan (docs/cli.md#wf-run)."""
    lines = [
        "=== EXECUTION PLAN ===",
        f"Workflow: {dag.name}",
        f"Mode: {mode} (max_parallel {workers})",
        f"Total Tasks: {dag.total_tasks}",
        f"Execution Levels: {len(dag.levels)}",
    ]
    if dag.pools:
        shown = ", ".join(f"{name} = {capacity}" for name, capacity in sorted(dag.pools.items()))
        lines.append(f"Pools: {shown}")
    for i, level in enumerate(dag.levels):
        lines.append(f"Level {i} ({plural(len(level), 'task')}):")
        for node_id in level:
            node = dag.nodes[node_id]
            lines.append(f"  - {node_id}" + (" [PARALLEL]" if node.can_run_in_parallel else ""))
            if node.task.condition:
                lines.append(f"    Condition: {node.task.condition}")
            if node.task.pools:
                weights = ", ".join(f"{p} = {w}" for p, w in sorted(node.task.pools.items()))
                lines.append(f"    Pools: {weights}")
    return "\n".join(lines)


def plan_json(dag: DAG, mode: str, workers: int) -> dict[str, Any]:
    """The --dry-run --json plan (docs/json.md#wf-run---dry-run---json)."""
    return {
        "workflow_name": dag.name,
        "file": dag.file_path,
        "total_tasks": dag.total_tasks,
        "execution_mode": mode,
        "max_parallel": workers,
        "global_trap": dag.global_trap.task.id if dag.global_trap is not None else None,
        "forensic_tasks": sorted(dag.forensic_tasks),
        "pools": dict(sorted(dag.pools.items())),
        "levels": [
            {
                "level": i,
                "tasks": [
                    {
                        "id": node_id,
                        "name": dag.nodes[node_id].name,
                        "can_run_in_parallel": dag.nodes[node_id].can_run_in_parallel,
                        "depends_on": list(dag.nodes[node_id].dependencies),
                        "condition": dag.nodes[node_id].task.condition or None,
                        "pools": dict(dag.nodes[node_id].task.pools),
                    }
                    for node_id in level
                ],
            }
            for i, level in enumerate(dag.levels)
        ],
    }


def explain_text(explanations: list[Explanation]) -> str:
    """The ``--explain`` section: per node, whether it would run and the first reason."""
    lines = ["=== EXPLAIN ==="]
    for item in explanations:
        verdict = "run " if item.run else "skip"
        lines.append(f"{verdict}  {item.node_id:<24} {item.reason}")
    would = sum(1 for item in explanations if item.run)
    lines.append(f"{would} of {len(explanations)} task(s) would run")
    return "\n".join(lines)


@click.command("run")
@click.argument("workflow")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the plan; run nothing, open no database (except to --explain).",
)
@click.option("--force", is_flag=True, help="Ignore every cache record: run all tasks.")
@click.option(
    "--force-task",
    "force_tasks",
    multiple=True,
    metavar="TASK",
    help="Ignore TASK's cache record (repeatable; a matrix base name forces its expansions).",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Say why each task runs or is up to date (with --dry-run: without running).",
)
@mode_options
@run_options
def command(
    workflow: str,
    dry_run: bool,
    force: bool,
    force_tasks: tuple[str, ...],
    explain: bool,
    sequential: bool,
    parallel: bool,
    work_stealing: bool,
    jobs: int | None,
    schedule: str,
    max_parallel: int | None,
    executor: str | None,
    scheduler: str | None,
    variables: tuple[str, ...],
    secret_args: tuple[str, ...],
    env_file: str | None,
    timeout: str | None,
    print_output: bool,
    clean_env: bool,
    plain: bool,
    as_json: bool,
) -> int:
    """Run WORKFLOW (a name in the workflows directory, or a path to a .toml file).

    \b
    Examples:
      wf run hello
      wf run ./deploy.toml --var env=prod -j 4
      wf run etl --dry-run
      wf run etl --executor dask --scheduler tcp://10.0.0.5:8786
      wf run build --dry-run --explain
      wf run build --force-task compile
    """
    app = app_context()
    runner = choose_runner(
        app, executor, scheduler, sequential=sequential, parallel=parallel, jobs=jobs
    )
    mode, workers = choose_mode(
        app,
        sequential=sequential,
        parallel=parallel,
        work_stealing=work_stealing,
        jobs=jobs,
        max_parallel=max_parallel,
    )
    if runner[0] == "dask":
        mode = "work_stealing"  # the Dask executor schedules work-stealing over the cluster
    runtime_vars = parse_vars(variables)
    deadline = parse_timeout(timeout)
    dag = load_dag(workflow, workflows_dir=app.config.workflows_dir, pools=app.config.pools)
    secret_vars = parse_secret_args(secret_args)
    for warning in dag.warnings + unset_variable_warnings(dag, {**runtime_vars, **secret_vars}):
        app.diag("warn", warning)
    forced: frozenset[str] = frozenset()
    if force_tasks:
        from wf.executor.resume import expand_names

        forced = frozenset(expand_names(dag, list(force_tasks), "force-task"))
    cache = CacheOptions(force=force, force_tasks=forced, explain=explain)
    if dry_run:
        explained = None
        if explain:
            explained = explain_plan(
                app.store(), dag, options=cache, runtime_vars=runtime_vars, clean_env=clean_env
            )
        if as_json:
            plan = plan_json(dag, mode, workers)
            if explained is not None:
                plan["explain"] = [item.to_dict() for item in explained]
            click.echo(json.dumps(plan, indent=2, ensure_ascii=False))
        else:
            click.echo(plan_text(dag, mode, workers))
            if explained is not None:
                click.echo(explain_text(explained))
        click.echo("No tasks were executed.", err=as_json)
        return 0
    secrets = cli_secrets(dag, secret_vars, env_file)  # a missing one: exit 2, no run row
    store = app.store()
    debug_plan(app, dag, mode, workers, schedule)
    engine = make_executor(
        app,
        store,
        runner,
        mode,
        workers,
        schedule,
        explicit_workers=jobs or max_parallel,
        cache=cache,
    )
    progress = make_progress(dag, mode, plain=plain, as_json=as_json, resume=False, explain=explain)
    cancel = CancelRequest()
    try:
        notify = progress.notice if progress is not None else None
        with signal_cancel(cancel, quiet=as_json, notify=notify):
            run = engine.execute(
                dag,
                progress=progress,
                print_output=print_output,
                clean_env=clean_env,
                runtime_vars=runtime_vars,
                cancel=cancel,
                timeout=deadline,
                secrets=secrets,
            )
    finally:
        if progress is not None:
            progress.close()
    return report_run(store, run, dag, cancel, as_json=as_json)
