"""What ``wf run`` and ``wf resume`` share: options, signals, progress, result and exit code."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from wf.cli.context import AppContext, is_tty
from wf.cli.exitcodes import ExitCode
from wf.cli.fmt import Style, plural, short_id
from wf.cli.progress import LiveProgress, PlainProgress
from wf.cli.summary import failure_summary, result_block
from wf.dag import DAG
from wf.durations import DurationError, parse_duration
from wf.errors import UsageError
from wf.executor.cancel import CancelToken
from wf.storage import Run, RunStatus, Store

if TYPE_CHECKING:
    from wf.executor.cache import CacheOptions

MAX_WORKERS = 2**63 - 1  # max_parallel is stored as an SQLite INTEGER


class CancelRequest(CancelToken):
    """The cancel token handed to the executor, counting the signals received."""

    def __init__(self) -> None:
        super().__init__()
        self.signals = 0


@contextmanager
def signal_cancel(
    cancel: CancelRequest,
    *,
    quiet: bool = False,
    notify: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """SIGINT/SIGTERM cancel the run; a second one kills at once; a third exits 130.

    Messages go through NOTIFY (the progress renderer, so that they never land inside a live
    status area), else straight to stderr.
    """

    def say(text: str) -> None:
        if notify is not None:
            notify(text)
        else:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    def handler(signum: int, _frame: Any) -> None:
        cancel.signals += 1
        name = "SIGINT" if signum == signal.SIGINT else "SIGTERM"
        if cancel.signals == 1:
            if not quiet:
                say("cancelling run (press Ctrl+C again to kill immediately)")
            cancel.cancel(f"received {name}")
        elif cancel.signals == 2:
            cancel.kill_now()
            if not quiet:
                say("killing running tasks")
        else:
            os._exit(ExitCode.INTERRUPTED)

    from wf.cli import Process

    if Process.standalone:
        from wf.executor.containment import claim_process

        claim_process()  # the process is wf itself: every orphan it adopts is reaped
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    installed = threading.current_thread() is threading.main_thread()
    if installed:
        for sig in previous:
            signal.signal(sig, handler)
    try:
        yield
    finally:
        if installed:
            for sig, old in previous.items():
                signal.signal(sig, old)


def parse_vars(values: tuple[str, ...]) -> dict[str, str]:
    """``--var KEY=VALUE`` pairs, split at the first ``=`` and validated."""
    from wf.executor.runsetup import runtime_var_problem

    out: dict[str, str] = {}
    for item in values:
        if "=" not in item:
            raise UsageError(f"invalid --var format: expected KEY=VALUE (got {item!r})")
        key, value = item.split("=", 1)
        problem = runtime_var_problem(key)
        if problem is not None:
            raise UsageError(f"invalid --var name: {problem}")
        out[key] = value
    return out


def parse_timeout(value: str | None, option: str = "--timeout") -> float | None:
    """``--timeout D`` (or another duration OPTION) as seconds (None when absent or 0)."""
    if value is None:
        return None
    try:
        seconds = parse_duration(value if not value.replace(".", "", 1).isdigit() else float(value))
    except DurationError as exc:
        raise UsageError(f"invalid {option}: {exc}") from None
    if seconds * 1000 > 2**63 - 1:  # stored in milliseconds as an SQLite INTEGER
        raise UsageError(f"invalid {option}: {value!r} is too large")
    return seconds or None


def choose_mode(
    app: AppContext,
    *,
    sequential: bool,
    parallel: bool,
    work_stealing: bool,
    jobs: int | None,
    max_parallel: int | None,
    stored: tuple[str, int] | None = None,
) -> tuple[str, int]:
    """The execution mode and concurrency from the flags, else STORED, else the config."""
    chosen = [
        name
        for name, on in (
            ("--sequential", sequential),
            ("--parallel", parallel),
            ("--work-stealing", work_stealing),
        )
        if on
    ]
    if len(chosen) > 1:
        raise UsageError(f"{' and '.join(chosen)} are mutually exclusive")
    if max_parallel is not None and max_parallel < 1:
        raise UsageError("--max-parallel must be >= 1")
    for flag, value in (("-j/--jobs", jobs), ("--max-parallel", max_parallel)):
        if value is not None and value > MAX_WORKERS:  # recorded in an SQLite INTEGER
            raise UsageError(f"{flag} must be at most {MAX_WORKERS}")
    if jobs is not None:
        if sequential or parallel:
            raise UsageError(f"-j/--jobs conflicts with {chosen[0]}")
        if max_parallel is not None:
            raise UsageError("-j/--jobs conflicts with --max-parallel")
        if jobs < 1:
            raise UsageError("-j/--jobs must be >= 1")
        return "work_stealing", jobs
    if chosen:
        mode = chosen[0].removeprefix("--").replace("-", "_")
    elif stored is not None:
        mode = stored[0]
    else:
        mode = app.config.default_executor
    if max_parallel:
        workers = max_parallel
    elif stored is not None:
        workers = stored[1] if stored[1] > 0 else app.config.max_parallel
    else:
        workers = app.config.max_parallel
    if mode == "sequential":
        workers = 1
    elif stored is not None and stored[0] == "sequential" and not max_parallel:
        workers = app.config.max_parallel
    return mode, workers


def debug_plan(app: AppContext, dag: DAG, mode: str, workers: int, schedule: str) -> None:
    """``-v``: the mode and the order in which nodes become ready, on stderr."""
    if app.log_level != "debug" and (app._config is None or app.config.log_level != "debug"):
        return
    source = dag.file_path or "(text)"
    app.diag("debug", f"workflow {dag.name}: {source}; {plural(dag.total_tasks, 'task')}")
    order = schedule if mode == "work_stealing" else "level by level"
    app.diag("debug", f"mode {mode}, max_parallel {workers}, start order {order}")
    for i, level in enumerate(dag.levels):
        app.diag("debug", f"level {i}: {', '.join(level)}")


def make_progress(
    dag: DAG,
    mode: str,
    *,
    plain: bool,
    as_json: bool,
    resume: bool,
    banner: str | None = None,
    explain: bool = False,
) -> PlainProgress | None:
    """The progress renderer for this terminal (None with --json)."""
    if as_json:
        return None
    kwargs: dict[str, Any] = {
        "workflow": dag.name,
        "mode": mode,
        "total": dag.total_tasks,
        "resume": resume,
        "banner": banner,
        "explain": explain,
    }
    if not plain and is_tty() and os.environ.get("TERM") != "dumb":
        return LiveProgress(**kwargs)
    return PlainProgress(**kwargs)


def report_run(
    store: Store,
    run: Run,
    dag: DAG,
    cancel: CancelRequest,
    *,
    as_json: bool,
) -> int:
    """Print the result (or JSON), the failure summary, and return the exit code.

    See docs/cli.md#wf-run.
    """
    latest = {te.task_id: te for te in store.latest_task_executions(run.id) if not te.is_forensic}
    hits = store.list_cache_hits(run.id) if run.tasks_cached else []
    cached = {hit.task_id for hit in hits}
    if as_json:
        payload: dict[str, Any] = {
            "run": run.to_dict(),
            "tasks": [te.to_dict() for te in latest.values()],
        }
        if hits:
            payload["cached"] = [hit.to_dict() for hit in hits]
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        style = Style()
        click.echo("")
        click.echo(result_block(run, dag, latest, style, cached))
        if run.status in (RunStatus.FAILED, RunStatus.CANCELLED):
            click.echo("")
            click.echo(
                failure_summary(
                    run,
                    dag,
                    latest,
                    style,
                    cause_attempts=_attempts(store, run),
                    cached=cached,
                )
            )
    if run.status is RunStatus.SUCCESS:
        return ExitCode.OK
    if run.status is RunStatus.CANCELLED:
        reason = (run.error or "cancelled").removeprefix("cancelled: ")
        click.echo(f"Error: run {short_id(run.id)} cancelled: {reason}", err=True)
        return ExitCode.INTERRUPTED if cancel.signals else ExitCode.FAILURE
    click.echo(f"Error: run {short_id(run.id)} failed: {run.error}", err=True)
    return ExitCode.FAILURE


def _attempts(store: Store, run: Run) -> int | None:
    """Attempts of the root-cause node in this invocation (a resume starts counting anew)."""
    if not run.failed_task:
        return None
    since = run.last_resume_time or run.start_time
    rows = store.list_task_executions(run_id=run.id, task_id=run.failed_task)
    return sum(1 for r in rows if since is None or (r.created_at and r.created_at >= since))


def executor_kwargs(app: AppContext, warn: Callable[[str], None]) -> dict[str, Any]:
    """Settings every executor takes from the configuration."""
    config = app.config
    return {
        "logs_dir": config.logs_dir,
        "on_failure_hook": config.on_failure_hook,
        "kill_grace": config.kill_grace,
        "log_max_bytes": config.log_max_bytes,
        "warn": warn,
    }


def choose_runner(
    app: AppContext,
    executor: str | None,
    scheduler: str | None,
    *,
    sequential: bool,
    parallel: bool,
    jobs: int | None,
) -> tuple[str, str | None]:
    """Where attempts run (``local`` or ``dask``) and the Dask scheduler address.

    ``dask`` is work-stealing over the cluster: a mode flag that asks for something else, or
    no scheduler address, is a usage error; a missing ``wf[dask]`` extra is an error (exit 1).
    """
    kind = executor or app.config.executor
    if kind != "dask":
        if scheduler:
            raise UsageError("--scheduler needs --executor dask")
        return "local", None
    for flag, on in (("--sequential", sequential), ("--parallel", parallel)):
        if on:
            raise UsageError(f"--executor dask runs work-stealing; {flag} conflicts with it")
    address = scheduler or app.config.dask_scheduler
    if not address:
        raise UsageError(
            "--executor dask needs a scheduler address: --scheduler ADDRESS "
            "(or the dask_scheduler setting)"
        )
    import importlib.util

    from wf.errors import MissingExtraError

    if importlib.util.find_spec("distributed") is None:
        raise MissingExtraError("--executor dask", "dask")
    return "dask", address


def make_executor(
    app: AppContext,
    store: Store,
    runner: tuple[str, str | None],
    mode: str,
    workers: int,
    schedule: str,
    *,
    explicit_workers: int | None,
    cache: CacheOptions | None = None,
) -> Any:
    """The executor for MODE, or the Dask executor when RUNNER says so."""
    kwargs = executor_kwargs(app, lambda m: app.diag("warn", m))
    if cache is not None:
        kwargs["cache"] = cache
    kind, address = runner
    if kind == "dask":
        from wf.executor.daskrunner import DaskExecutor

        assert address is not None
        return DaskExecutor(
            store,
            address,
            explicit_workers,
            schedule=schedule.replace("-", "_"),
            **kwargs,
        )
    from wf.executor import executor_for_mode

    return executor_for_mode(mode, store, workers, schedule=schedule.replace("-", "_"), **kwargs)
