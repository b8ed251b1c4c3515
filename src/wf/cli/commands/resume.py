"""``wf resume``: finish a failed, cancelled or interrupted run, reusing unchanged successes."""

from __future__ import annotations

from typing import Any

import click

from wf.cli.commands.run import cli_secrets, mode_options, run_options
from wf.cli.context import app_context
from wf.cli.fmt import Style, short_id
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
from wf.errors import ResumeError
from wf.secrets import parse_secret_args
from wf.storage import RESUMABLE_RUN_STATUSES


def _resume_options(func: Any) -> Any:
    """The run options, with help that speaks of the resumed run."""
    return mode_options(run_options(func, resume=True), resume=True)


@click.command("resume")
@click.argument("run_id")
@_resume_options
@click.option(
    "--from",
    "from_task",
    metavar="TASK",
    help="Replay TASK and everything downstream of it; nothing else runs.",
)
@click.option(
    "--only",
    multiple=True,
    metavar="TASK",
    help="Run exactly these tasks (repeatable, comma lists allowed).",
)
@click.option(
    "--rerun",
    multiple=True,
    metavar="TASK",
    help="Also force TASK and its descendants to run again (repeatable).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Ignore every cache record: the tasks the resume runs again all run.",
)
@click.option(
    "--force-task",
    "force_tasks",
    multiple=True,
    metavar="TASK",
    help="Ignore TASK's cache record (repeatable; a matrix base name forces its expansions).",
)
def command(
    run_id: str,
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
    from_task: str | None,
    only: tuple[str, ...],
    rerun: tuple[str, ...],
    force: bool,
    force_tasks: tuple[str, ...],
) -> int:
    """Finish RUN_ID, a failed, cancelled or interrupted run (a unique prefix is enough).

    The workflow is loaded again from the run's file (or from the source stored with the run),
    the variables are restored, unchanged successful tasks are reused, and failed, cancelled,
    skipped and changed ones run again, in the same run. The run's stored mode, concurrency
    and clean-env setting apply unless a flag overrides them. There is no plan (--dry-run).
    A task it runs again that is up to date is not run (docs/caching.md) unless --force or
    --force-task says so; --rerun forces a task whatever its cache says.

    \b
    Examples:
      wf resume 3MhOQCKI
      wf resume 3MhOQCKI --rerun extract -j 4
      wf resume 3MhOQCKI --only 'load[region=eu],report'
      wf resume 3MhOQCKI --force-task compile
    """
    from wf.executor.cache import CacheOptions
    from wf.executor.rundag import load_run_dag
    from wf.resume import expand_names

    app = app_context()
    runner = choose_runner(
        app, executor, scheduler, sequential=sequential, parallel=parallel, jobs=jobs
    )
    store = app.store()
    run = store.get_run(run_id)
    if run.status not in RESUMABLE_RUN_STATUSES:
        raise ResumeError(f"run {run.id} is not resumable (status: {run.status})")
    mode, workers = choose_mode(
        app,
        sequential=sequential,
        parallel=parallel,
        work_stealing=work_stealing,
        jobs=jobs,
        max_parallel=max_parallel or None,
        stored=(str(run.execution_mode), run.max_parallel),
    )
    if runner[0] == "dask":
        mode = "work_stealing"  # the Dask executor schedules work-stealing over the cluster
    runtime_vars = parse_vars(variables)
    deadline = parse_timeout(timeout)
    # its workflow file, or the source kept with the run
    dag = load_run_dag(store, run, pools=app.config.pools)
    for warning in dag.warnings:
        app.diag("warn", warning)
    cache = CacheOptions(
        force=force, force_tasks=frozenset(expand_names(dag, list(force_tasks), "force-task"))
    )
    secrets = cli_secrets(dag, parse_secret_args(secret_args), env_file)
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
    # Printed when the run has been claimed, so a refused resume does not announce itself.
    banner = (
        f"{Style().sym('resuming')} resuming run {short_id(run.id)} "
        f"(resume #{run.resume_count + 1}, {mode})"
    )
    progress = make_progress(dag, mode, plain=plain, as_json=as_json, resume=True, banner=banner)
    cancel = CancelRequest()
    try:
        notify = progress.notice if progress is not None else None
        with signal_cancel(cancel, quiet=as_json, notify=notify):
            final = engine.resume(
                run.id,
                progress=progress,
                print_output=print_output,
                clean_env=clean_env or None,
                runtime_vars=runtime_vars,
                cancel=cancel,
                timeout=deadline,
                from_task=from_task,
                only=list(only) or None,
                rerun=list(rerun) or None,
                secrets=secrets,
            )
    finally:
        if progress is not None:
            progress.close()
    return report_run(store, final, dag, cancel, as_json=as_json)
