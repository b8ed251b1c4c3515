"""A node whose lifecycle raised: it fails with the error text, and the run goes on to its end.

Whatever goes wrong inside one node (a bug, a file a task tampered with that no check
foresaw) must not leave the run ``running`` or the node's attempt rows open: the node gets a
final failure like any other (its open rows become ``failed``, the audit and progress records
are written), and the engine carries on with the rest of the run.
"""

from __future__ import annotations

import logging

from wf.executor.events import ProgressEventKind as K
from wf.executor.runstate import NodeResult, NodeStatus, RunState
from wf.storage import Store, TaskStatus, now_utc
from wf.storage.models import UNFINISHED_TASK_STATUSES

log = logging.getLogger("wf.executor")


def node_crashed(rs: RunState, node_id: str, exc: Exception) -> NodeResult:
    """Record NODE_ID's final failure after EXC escaped its lifecycle; its result."""
    log.debug("node %s raised", node_id, exc_info=exc)
    error = f"internal error: {type(exc).__name__}: {exc}"
    end = now_utc()
    run_id = rs.run_id
    node = rs.dag.nodes.get(node_id)
    ignored = bool(node is not None and node.task.ignore_failure)
    attempts = 1

    def close_rows(store: Store) -> None:
        for te in store.list_task_executions(run_id=run_id, task_id=node_id):
            if te.state in UNFINISHED_TASK_STATUSES:
                te.state = TaskStatus.FAILED
                te.error_message = error
                te.end_time = end
                store.update_task_execution(te)

    rs.writer.submit(close_rows)
    if not ignored and rs.on_final_failure is not None:
        rs.on_final_failure(node_id)
    rs.audit(
        "task_failed",
        {"task_id": node_id, "attempts": attempts, "error": error, "ignored": ignored},
    )
    rs.emit(
        K.TASK_FAILED,
        task_id=node_id,
        task_name=node.name if node is not None else node_id,
        attempt=attempts,
        status="failed",
        error=error,
    )
    return NodeResult(
        node_id, NodeStatus.FAILED, ignored=ignored, attempts=attempts, error=error, end_time=end
    )
