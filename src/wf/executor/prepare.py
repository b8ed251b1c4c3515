"""Preparation of a node: matrix values, interpolation, working directory, fingerprint, and
the attempt's environment (docs/variables.md, docs/executors.md "How a task runs")."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from wf.contextmap import (
    ContextMap,
    ContextMapError,
    UndefinedVariableError,
)
from wf.dag.model import TaskDefinition
from wf.errors import SecurityError
from wf.executor.fingerprint import fingerprint
from wf.executor.outputs import OutputError, check_output_name
from wf.executor.runstate import RunState
from wf.security import validate_working_dir
from wf.telemetry import traceparent

log = logging.getLogger("wf.executor")


class EarlyFailure(Exception):
    """A node failure before any process starts (condition, interpolation, working dir)."""


@dataclass
class NodeSpec:
    """One node to run: a normal node, or a forensic trap under its own node ID."""

    node_id: str
    task: TaskDefinition
    name: str
    matrix_vars: dict[str, str] = field(default_factory=dict)
    is_expanded: bool = False
    is_forensic: bool = False


@dataclass
class Prepared:
    """The interpolated node, ready for its attempts."""

    cmd: str
    env: dict[str, str]
    working_dir: str
    cwd: str | None
    register: str
    condition_result: bool | None
    fingerprint: str


def interpolate(rs: RunState, spec: NodeSpec, text: str, field_name: str) -> str:
    return interpolated(rs.ctx, spec.node_id, text, field_name)


def interpolated(ctx: ContextMap, node_id: str, text: str, field_name: str) -> str:
    """TEXT with NODE_ID's variables filled in; ``EarlyFailure`` naming FIELD_NAME when that
    fails (an undefined variable, any other interpolation error, a NUL byte in the result)."""
    try:
        value = ctx.interpolate(text, task_id=node_id)
    except UndefinedVariableError as exc:
        raise EarlyFailure(
            f'interpolation failed in {field_name}: undefined variable "{exc.name}"'
        ) from exc
    except ContextMapError as exc:
        raise EarlyFailure(f"interpolation failed in {field_name}: {exc}") from exc
    if "\x00" in value:
        raise EarlyFailure(f"interpolation failed in {field_name}: result contains a NUL byte")
    return value


def prepare(
    rs: RunState, spec: NodeSpec, condition_result: bool | None, *, check_dir: bool = True
) -> Prepared:
    """P3–P5: interpolation, working directory, fingerprint."""
    task = spec.task
    cmd = interpolate(rs, spec, task.cmd, "cmd")
    env = {key: interpolate(rs, spec, value, f"env.{key}") for key, value in task.env.items()}
    working_dir = interpolate(rs, spec, task.working_dir, "working_dir")
    register = task.register
    if "{{" in register:
        register = interpolate(rs, spec, register, "register")
    if register:
        try:
            check_output_name(register, "")
        except OutputError as exc:
            raise EarlyFailure(f"invalid register name: {exc}") from exc
    cwd: str | None = None
    if working_dir:
        cwd = os.path.abspath(working_dir)
        if check_dir:
            _check_working_dir(working_dir, cwd)
    clean_env = rs.clean_env or task.clean_env
    fp = fingerprint(
        task=task,
        node_id=spec.node_id,
        cmd=cmd,
        env=env,
        working_dir=working_dir,
        clean_env=clean_env,
        matrix_vars=spec.matrix_vars,
        ctx=rs.ctx,
    )
    return Prepared(cmd, env, working_dir, cwd, register, condition_result, fp)


def _check_working_dir(working_dir: str, cwd: str) -> None:
    try:
        validate_working_dir(working_dir)
        validate_working_dir(cwd, check_real=True)
    except SecurityError:
        raise EarlyFailure(f"working directory not allowed: {working_dir}") from None
    if not os.path.exists(cwd):
        raise EarlyFailure(f"working directory does not exist: {working_dir}")
    if not os.path.isdir(cwd):
        raise EarlyFailure(f"working directory is not a directory: {working_dir}")


def environment(
    rs: RunState, spec: NodeSpec, prepared: Prepared, attempt: int, output: str
) -> dict[str, str]:
    """wf's environment (or none), the task's env, then the WF_* variables.

    See docs/executors.md#how-a-task-runs.
    """
    env = {} if (rs.clean_env or spec.task.clean_env) else dict(rs.base_env)
    env.update(rs.secret_env)  # declared secrets reach every task, also with clean_env
    env.update(prepared.env)
    env["WF_RUN_ID"] = rs.run_id
    env["WF_WORKFLOW"] = rs.workflow_name
    env["WF_TASK_ID"] = spec.node_id
    env["WF_ATTEMPT"] = str(attempt)
    env["WF_OUTPUT"] = output
    if rs.traced:
        env["TRACEPARENT"] = traceparent(rs.run_id, spec.node_id, attempt)
    return env
