"""Failure traps: a task-level trap, and a trap run through the full lifecycle
(docs/workflow-files.md)."""

from __future__ import annotations

import logging

from wf.contextmap import (
    FORENSIC_OWNER,
)
from wf.executor.effects import Steps
from wf.executor.outcomes import force_set
from wf.executor.prepare import NodeSpec
from wf.executor.runstate import NodeResult, RunState, output_head

log = logging.getLogger("wf.executor")


def run_task_trap(rs: RunState, failed_node: str, trap_id: str, error: str) -> Steps[None]:
    """Fire the task-level trap TRAP_ID for FAILED_NODE (at most once per invocation)."""
    trap_task = rs.dag.forensic_tasks.get(trap_id)
    if trap_task is None or rs.run_cancel.is_set() or not rs.claim_trap(trap_id):
        return
    force_set(rs, FORENSIC_OWNER, "failed_task", failed_node)
    force_set(rs, FORENSIC_OWNER, "error_message", error)
    rs.audit(
        "forensic_trap_fired",
        {"trap_id": trap_id, "failed_task": failed_node, "scope": "task"},
    )
    spec = NodeSpec(trap_id, trap_task, trap_task.name, is_forensic=True)
    yield from run_trap_node(rs, spec, failed_node, error)


def run_trap_node(
    rs: RunState, spec: NodeSpec, failed_node: str | None, error: str
) -> Steps[NodeResult]:
    """Run a trap through the full lifecycle and record its ``trap_output`` forensic log."""
    from wf.executor.lifecycle import run_node  # the lifecycle fires traps: import late

    result = yield from run_node(rs, spec)
    text, _ = output_head(result.log_head)
    rs.forensic_log(spec.node_id, "trap_output", text, failed_node, error)
    return result
