"""Node fingerprints: what decides whether a resume may reuse a success.

See docs/resume.md#fingerprints.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from wf.contextmap import ContextMap
from wf.dag.model import TaskDefinition
from wf.dag.unset import read_names
from wf.digests import sha256_hex


def referenced_variables(task: TaskDefinition) -> set[str]:
    """Every variable named in cmd, env, working_dir, register or if."""
    return set(read_names(task))


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
    return "v1:" + sha256_hex(canonical.encode("utf-8"))
