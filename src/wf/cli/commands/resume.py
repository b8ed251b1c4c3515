"""``wf resume``: finish a failed, cancelled or interrupted run, reusing unchanged successes."""

from __future__ import annotations

from pathlib import Path

import click

from wf.cli.commands.run import cli_secrets, mode_options, run_options
from wf.cli.context import app_context
from wf.cli.fmt import Style, short_id
from wf.cli.session import (
    CancelRequest,
    choose_mode,
    executor_kwargs,
    make_progress,
    parse_timeout,
    parse_vars,
    report_run,
    signal_cancel,
)
from wf.errors import ResumeError
from wf.secrets import parse_secret_args
from wf.storage import RESUMABLE_RUN_STATUSES


@click.command("resume")
@click.argument("run_id")
@mode_options
@run_options
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
def command(
    run_id: str,
    sequential: bool,
    parallel: bool,
    work_stealing: bool,
    jobs: int | None,
    schedule: str,
    max_parallel: int | None,
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
) -> int:
    """Resume RUN_ID (a unique prefix is enough) in its own mode, unless a flag overrides it.

    Unchanged successful tasks are reused; failed, cancelled, skipped and changed ones run.
    """
    from wf.dag import load_dag
    from wf.executor import executor_for_mode

    app = app_context()
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
    runtime_vars = parse_vars(variables)
    deadline = parse_timeout(timeout)
    # The stored absolute path is loaded as a path (SPEC §1.1 rule 4, §6.3): a file that is
    # gone is "workflow not found: PATH", never a workflow-name error.
    dag = load_dag(Path(run.workflow_file), pools=app.config.pools)
    for warning in dag.warnings:
        app.diag("warn", warning)
    secrets = cli_secrets(dag, parse_secret_args(secret_args), env_file)
    executor = executor_for_mode(
        mode,
        store,
        workers,
        schedule=schedule.replace("-", "_"),
        **executor_kwargs(app, lambda m: app.diag("warn", m)),
    )
    # Printed when the run has been claimed, so a refused resume does not announce itself.
    banner = (
        f"{Style().sym('resuming')} resuming run {short_id(run.id)} "
        f"(resume #{run.resume_count + 1}, {mode})"
    )
    progress = make_progress(dag, mode, plain=plain, as_json=as_json, resume=True, banner=banner)
    cancel = CancelRequest()
    try:
        with signal_cancel(cancel, quiet=as_json):
            final = executor.resume(
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
