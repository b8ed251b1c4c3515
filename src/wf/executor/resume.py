"""Resume (docs/resume.md): claim a failed, cancelled or interrupted run and finish it.

The selection flags are planned here, before anything is written; the run itself goes
through the same path as a new one (``runsetup.run_invocation``), with a ``ResumedRun``
opening: the claim instead of a new row, restored variables, ``run_resumed``, and the
``--from``/``--only`` judgement of the outcome.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wf.contextmap import RUNTIME_OWNER, ContextMap, Variable
from wf.dag import DAG
from wf.errors import ResumeError, UsageError
from wf.executor.events import ProgressCallback
from wf.executor.events import ProgressEventKind as K
from wf.executor.rundag import load_run_dag
from wf.executor.runner import RunnerSession
from wf.executor.runsetup import (
    Invocation,
    Outcome,
    record_graph,
    run_invocation,
    run_secrets,
    validate_options,
)
from wf.executor.runstate import RunState
from wf.secrets import MASK, SecretError, Secrets
from wf.storage import (
    RESUMABLE_RUN_STATUSES,
    ContextSnapshot,
    Run,
    RunStatus,
    TaskExecution,
    TaskStatus,
)
from wf.storage.procinfo import current_owner
from wf.storage.times import now_utc

if TYPE_CHECKING:
    from wf.executor.executors import _EngineExecutor


class SelectionError(ResumeError, UsageError):
    """An unknown task in --from, --only or --rerun (a usage error, exit 2)."""


def split_names(raw: str) -> list[str]:
    """Split a comma list of task names, keeping commas inside ``[...]`` (matrix node IDs)."""
    parts: list[str] = []
    depth = 0
    current = ""
    for char in raw:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += {"[": 1, "]": -1}.get(char, 0)
        current += char
    parts.append(current)
    return parts


def expand_names(dag: DAG, names: list[str], flag: str) -> list[str]:
    """Node IDs named by NAMES: a node ID, or a matrix base name for all of its expansions."""
    out: list[str] = []
    for raw in names:
        for name in (part.strip() for part in split_names(raw)):
            if not name:
                continue
            if name in dag.nodes:
                matched = [name]
            else:
                matched = [n for n, node in dag.nodes.items() if node.task.id == name]
            if not matched:
                raise SelectionError(f"unknown task {name} in --{flag}")
            out.extend(m for m in matched if m not in out)
    return out


def descendants(dag: DAG, roots: list[str]) -> list[str]:
    """ROOTS and everything downstream of them, in sequential order."""
    seen = set(roots)
    stack = list(roots)
    while stack:
        for child in dag.nodes[stack.pop()].dependents:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return [n for n in dag.sequential_order() if n in seen]


def latest_rows(rows: list[TaskExecution]) -> tuple[dict[str, TaskExecution], dict[str, int]]:
    """The latest non-forensic row per node, and the highest attempt per node ID."""
    latest: dict[str, TaskExecution] = {}
    highest: dict[str, int] = {}
    for row in rows:
        highest[row.task_id] = max(highest.get(row.task_id, 0), row.attempt)
        if not row.is_forensic:
            latest[row.task_id] = row
    return latest, highest


def _state_ok(dag: DAG, node_id: str, row: TaskExecution | None) -> bool:
    if row is None:
        return False
    if row.state in (TaskStatus.SUCCESS, TaskStatus.SKIPPED):
        return True
    return row.state == TaskStatus.FAILED and dag.nodes[node_id].task.ignore_failure


def plan_selection(
    dag: DAG,
    previous: dict[str, TaskExecution],
    *,
    from_task: str | None,
    only: list[str] | None,
    rerun: list[str] | None,
) -> tuple[list[str], set[str], str, dict[str, object] | None]:
    """Scheduled nodes, forced nodes, the flag name and the audit ``selection`` value."""
    given = [x for x in (from_task, only, rerun) if x]
    if len(given) > 1:
        raise SelectionError("use at most one of --from, --only and --rerun")
    order = dag.sequential_order()
    selection: dict[str, object]
    if from_task:
        roots = expand_names(dag, [from_task], "from")
        nodes = descendants(dag, roots)
        flag, selection = "from", {"from": from_task}
    elif only:
        nodes = expand_names(dag, list(only), "only")
        nodes = [n for n in order if n in set(nodes)]
        flag, selection = "only", {"only": list(only)}
    elif rerun:
        roots = expand_names(dag, list(rerun), "rerun")
        return order, set(descendants(dag, roots)), "rerun", {"rerun": list(rerun)}
    else:
        return order, set(), "", None
    chosen = set(nodes)
    for node_id in nodes:
        for dep in dag.nodes[node_id].dependencies:
            if dep not in chosen and not _state_ok(dag, dep, previous.get(dep)):
                raise ResumeError(
                    f"cannot resume with --{flag}: dependency {dep} of {node_id} has not succeeded"
                )
    return nodes, chosen, flag, selection


def restore_context(rs: RunState, snapshots: list[Variable]) -> None:
    """Restore the newest snapshot of every variable (type, owner and read-only flag)."""
    for var in snapshots:
        rs.ctx.restore_variable(var)
    rs.mark_snapshotted(snapshots)


def resume_run(
    executor: _EngineExecutor,
    run_id: str,
    *,
    progress: ProgressCallback | None = None,
    print_output: bool = False,
    clean_env: bool | None = None,
    runtime_vars: Mapping[str, str] | None = None,
    cancel: threading.Event | None = None,
    timeout: float | None = None,
    from_task: str | None = None,
    only: list[str] | None = None,
    rerun: list[str] | None = None,
    secrets: Secrets | None = None,
) -> Run:
    """Claim RUN_ID and run what is left of it with EXECUTOR's mode (docs/resume.md).

    Everything that can refuse the resume (status, workflow, selection) is checked before the
    runner is opened and the run claimed.
    """
    validate_options(runtime_vars, timeout)
    store = executor.store
    store.mark_interrupted_runs()
    run = store.get_run(run_id)
    if run.status not in RESUMABLE_RUN_STATUSES:
        raise ResumeError(f"run {run.id} is not resumable (status: {run.status})")
    dag = load_run_dag(store, run)  # the workflow file, or the source of a text-built run
    previous, highest = latest_rows(store.list_task_executions(run_id=run.id))
    nodes, forced, flag, selection = plan_selection(
        dag, previous, from_task=from_task, only=only, rerun=rerun
    )
    resolved = run_secrets(dag, secrets)
    validate_options(resolved.variables, None)
    variables = _restorable(run.id, store.latest_variables(run.id), resolved)
    opening = ResumedRun(
        dag,
        nodes,
        run,
        previous,
        highest,
        forced,
        flag,
        selection,
        clean_env=clean_env,
        runtime_vars=runtime_vars,
        timeout=timeout,
        variables=variables,
        secret_variables=resolved.variables,
    )
    invocation = Invocation(
        progress,
        print_output,
        runtime_vars,
        cancel,
        timeout,
        masker=resolved.masker(),
        secret_env=resolved.env,
    )
    return run_invocation(executor, opening, invocation)


@dataclass
class ResumedRun:
    """A run claimed for a resume (docs/resume.md)."""

    dag: DAG
    nodes: list[str]
    run: Run
    previous: dict[str, TaskExecution]
    highest: dict[str, int]
    forced: set[str]
    flag: str
    selection: dict[str, object] | None
    clean_env: bool | None
    runtime_vars: Mapping[str, str] | None
    timeout: float | None
    #: The variables to restore (secret ones with their values given again).
    variables: list[Variable] = field(default_factory=list)
    #: ``--secret`` values, set like ``--var``s when no restored variable has the name.
    secret_variables: Mapping[str, str] = field(default_factory=dict)

    def open_row(self, executor: _EngineExecutor, session: RunnerSession) -> Run:
        """The claim, then the run row updated to this invocation's settings."""
        store = executor.store
        pid, host, started_at = current_owner()
        if not store.claim_run_for_resume(
            self.run.id, owner_pid=pid, owner_host=host, owner_started_at=started_at, now=now_utc()
        ):
            current = store.get_run(self.run.id)
            raise ResumeError(f"run {self.run.id} is not resumable (status: {current.status})")
        run = store.get_run(self.run.id)
        run.execution_mode = executor.mode
        run.max_parallel = executor.workers_for(session)
        run.total_tasks = self.dag.total_tasks
        if self.timeout is not None:
            run.timeout_ms = round(self.timeout * 1000)
        run.clean_env = run.clean_env or bool(self.clean_env)
        store.update_run(run)
        record_graph(store, run.id, self.dag)  # the workflow as reloaded for this resume
        self.run = run
        return run

    def state(self, run: Run) -> dict[str, Any]:
        return {
            "ctx": ContextMap(),
            "clean_env": run.clean_env,
            "resuming": True,
            "previous": self.previous,
            "forced": self.forced,
            "forced_by": self.flag,
        }

    def prepare(self, rs: RunState, executor: _EngineExecutor) -> None:
        """Attempt numbers continue; variables are restored, then ``--var``s applied."""
        rs.seed_attempts(self.highest)
        restore_context(rs, self.variables)
        restored = {var.name for var in self.variables}
        extra = {k: v for k, v in self.secret_variables.items() if k not in restored}
        for name, value in {**(self.runtime_vars or {}), **extra}.items():
            existing = rs.ctx.lookup(name)
            if existing is not None and existing.owner != RUNTIME_OWNER:
                if executor.warn is not None:
                    executor.warn(
                        f"--var {name} ignored: variable already set by task {existing.owner}"
                    )
                continue
            rs.ctx.set(RUNTIME_OWNER, name, value)

    def announce(
        self,
        rs: RunState,
        executor: _EngineExecutor,
        session: RunnerSession,
        scheduling: dict[str, object] | None,
    ) -> None:
        rs.audit(
            "run_resumed",
            {
                "resume_count": self.run.resume_count,
                "mode": str(executor.mode),
                "max_parallel": executor.workers_for(session),
                "selection": self.selection,
                "previously_succeeded": sorted(
                    n for n, row in self.previous.items() if row.state == TaskStatus.SUCCESS
                ),
                **executor.runner.describe(),
            },
        )
        rs.emit(K.RUN_STARTED, run_status="resuming")

    def outcome(self, rs: RunState, outcome: Outcome) -> Outcome:
        """With ``--from``/``--only`` the run succeeds only if every node's latest state is
        done (docs/resume.md, selection flags)."""
        status, error, failed_task = outcome
        if status is not RunStatus.SUCCESS or self.flag not in ("from", "only"):
            return status, error, failed_task
        unfinished = [
            n
            for n in self.dag.sequential_order()
            if not (
                rs.results[n].completed
                if n in rs.results
                else _state_ok(self.dag, n, self.previous.get(n))
            )
        ]
        if unfinished:
            status = RunStatus.FAILED
            error = f"{len(unfinished)} task(s) have not succeeded: " + ", ".join(unfinished)
        return status, error, failed_task


def _restorable(run_id: str, stored: list[ContextSnapshot], secrets: Secrets) -> list[Variable]:
    """The variables to restore: a secret one (stored as ***) only with its value given again.

    Raises SecretError naming the secret variables that were not given (docs/secrets.md).
    """
    variables: list[Variable] = []
    missing: list[str] = []
    for row in stored:
        if row.variable_value == MASK:
            value = secrets.variables.get(row.variable_name)
            if value is None:
                missing.append(row.variable_name)
                continue
            variables.append(_to_variable(dataclasses.replace(row, variable_value=value)))
        else:
            variables.append(_to_variable(row))
    if missing:
        names = ", ".join(missing)
        raise SecretError(
            f"run {run_id} has secret variable(s) {names}, stored masked: give them again "
            f"with --secret NAME=VALUE"
        )
    return variables


def _to_variable(row: ContextSnapshot) -> Variable:
    return Variable.from_text(
        row.variable_name,
        row.variable_value,
        row.variable_type,
        row.set_by_task,
        row.set_at or now_utc(),
        row.is_read_only,
    )


__all__ = ["SelectionError", "expand_names", "plan_selection", "resume_run", "split_names"]
