"""Node fingerprints: what decides whether a resume may reuse a success.

See docs/resume.md#fingerprints.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping

from wf.contextmap import ContextMap, condition_names, referenced_names
from wf.contextmap.errors import ConditionError
from wf.dag.model import TaskDefinition


def referenced_variables(task: TaskDefinition) -> set[str]:
    """Every variable named in cmd, env, working_dir, register or if."""
    names = set(referenced_names(task.cmd))
    for value in task.env.values():
        names |= referenced_names(value)
    names |= referenced_names(task.working_dir)
    names |= referenced_names(task.register)
    if task.condition:
        with contextlib.suppress(ConditionError):
            names |= condition_names(task.condition)
    return names


def fingerprint(
    *,
    task: TaskDefinition,
    node_id: str,
    cmd: str,
    env: Mapping[str, str],
    working_dir: str,
    clean_env: bool,
    matrix_vars: Mapping[str, str],
    ctx: ContextMap,
) -> str:
    """``v1:`` + SHA-256 of the canonical JSON of the node's effective definition."""
    values: dict[str, str | None] = {}
    for name in sorted(referenced_variables(task)):
        var = ctx.lookup(name, task_id=node_id)
        values[name] = None if var is None else var.text
    payload = {
        "cmd": cmd,
        "env": dict(env),
        "working_dir": working_dir,
        "clean_env": clean_env,
        "matrix": dict(matrix_vars),
        "vars": values,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "v1:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
