"""Resource pools (docs/workflow-files.md#resource-pools): capacities, task weights, checks.

A workflow's ``[pools]`` table maps a pool name to a capacity; the config's ``[pools]`` gives
defaults that a workflow may override. A task takes ``pool = "gpu"`` (weight 1) or
``pools = { gpu = 1, db = 2 }``. The scheduler keeps the weights of the nodes in flight within
each capacity (``wf.executor.policy``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from wf.dag.report import Report, quote, unknown_key

__all__ = [
    "POOL_NAME_PATTERN",
    "check_pool_name",
    "parse_capacities",
    "parse_weights",
    "resolve_pools",
]

POOL_NAME_PATTERN = "^[A-Za-z0-9_-]{1,64}$"
_POOL_NAME_RE = re.compile(POOL_NAME_PATTERN[1:-1])


def check_pool_name(name: object) -> str | None:
    """The problem with NAME as a pool name, or None when it is valid."""
    if not isinstance(name, str):
        return "a pool name must be a string"
    if not _POOL_NAME_RE.fullmatch(name):
        return (
            f"invalid pool name {quote(name)} (allowed: letters, digits, _, -; 1 to 64 characters)"
        )
    return None


def _positive(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def parse_capacities(value: object, where: str) -> tuple[dict[str, int], list[str]]:
    """A ``[pools]`` table (name -> capacity >= 1) and its problems, each prefixed by WHERE."""
    if not isinstance(value, dict):
        return {}, [f'{where}key "pools" must be a table of pool = capacity']
    pools: dict[str, int] = {}
    problems: list[str] = []
    for name, capacity in value.items():
        problem = check_pool_name(name)
        if problem is not None:
            problems.append(f"{where}{problem}")
        elif not _positive(capacity):
            problems.append(
                f"{where}pool {quote(name)} must have an integer capacity >= 1, not {capacity!r}"
            )
        else:
            pools[name] = capacity
    return pools, problems


def parse_weights(value: object, error: Callable[[str], None]) -> dict[str, int]:
    """A task's ``pools`` table (name -> weight >= 1); problems go to ERROR."""
    if not isinstance(value, dict):
        error('key "pools" must be a table of pool = weight')
        return {}
    weights: dict[str, int] = {}
    for name, weight in value.items():
        problem = check_pool_name(name)
        if problem is not None:
            error(problem)
        elif not _positive(weight):
            error(f"pool {quote(name)} must have an integer weight >= 1, not {weight!r}")
        else:
            weights[name] = weight
    return weights


def resolve_pools(
    declared: Mapping[str, int],
    demands: Mapping[str, Mapping[str, int]],
    defaults: Callable[[], Mapping[str, int]],
    report: Report,
) -> dict[str, int]:
    """The capacities of the pools a run uses; unknown pools and overweight tasks are errors.

    DECLARED comes from the workflow, DEMANDS maps task IDs to their weights, and DEFAULTS
    (the config's pools) is only called when a task names a pool the workflow does not declare.
    """
    pools = dict(declared)
    fallback: Mapping[str, int] | None = None
    for task_id, weights in demands.items():
        for name, weight in weights.items():
            if name not in pools:
                if fallback is None:
                    fallback = defaults()
                if name not in fallback:
                    known = sorted({*pools, *fallback})
                    report.error(
                        f"task {quote(task_id)}: {unknown_key(name, known).replace('key', 'pool')}"
                        " (declare it in the workflow's [pools] table or the config's)"
                    )
                    continue
                pools[name] = fallback[name]
            if weight > pools[name]:
                report.error(
                    f"task {quote(task_id)}: weight {weight} for pool {quote(name)} is above "
                    f"its capacity {pools[name]}"
                )
    return pools
