"""Building the DAG from a parsed definition, and loading one in a single step.

See docs/workflow-files.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from wf.dag.gcpause import gc_paused
from wf.dag.graph import Graph, analyse
from wf.dag.model import DAG, GLOBAL_TRAP_ID, Node, WorkflowDefinition, WorkflowError
from wf.dag.parse import analyse_workflow

__all__ = ["build_dag", "load_dag"]


def build_dag(definition: WorkflowDefinition) -> DAG:
    """Expand, link and level DEFINITION; raise WorkflowError with the build errors.

    The errors are listed in docs/workflow-files.md#validation.

    A definition that already carries errors is refused with those errors.
    """
    warnings = list(definition.warnings)
    if definition.errors:
        raise WorkflowError(errors=definition.errors, warnings=warnings, definition=definition)
    with gc_paused():
        graph = analyse(definition)
    if graph.errors:
        message = graph.errors[0] if len(graph.errors) == 1 else None
        raise WorkflowError(message, errors=graph.errors, warnings=warnings, definition=definition)
    return _assemble(definition, graph)


def load_dag(
    source: str | os.PathLike[str],
    *,
    workflows_dir: str | os.PathLike[str] | None = None,
    pools: Mapping[str, int] | None = None,
) -> DAG:
    """Parse SOURCE (a workflow name or path), then build its DAG.

    SOURCE is found as docs/workflow-files.md#loading-a-workflow describes.

    ``pools`` are the config's default pools (None: read them from the configured home, only
    if a task needs one).
    """
    # Parsing already linked and levelled a fresh graph to find cycles; reuse it.
    definition, graph = analyse_workflow(source, workflows_dir=workflows_dir, pools=pools)
    with gc_paused():
        return _assemble(definition, graph)


def _assemble(definition: WorkflowDefinition, graph: Graph) -> DAG:
    """The DAG of a definition whose graph has no errors."""
    warnings = list(definition.warnings)
    nodes = graph.nodes
    dag = DAG(
        name=definition.name,
        file_path=definition.file_path,
        description=definition.description,
        tags=list(definition.tags),
        nodes={node_id: nodes[node_id] for level in graph.levels for node_id in level},
        levels=graph.levels,
        roots=sorted(node_id for node_id, node in nodes.items() if not node.dependencies),
        leaves=sorted(node_id for node_id, node in nodes.items() if not node.dependents),
        total_tasks=len(nodes),
        forensic_tasks={task.id: task for task in definition.tasks.values() if task.is_forensic},
        triggers=list(definition.triggers),
        pools=dict(definition.pools),
        secrets=list(definition.secrets),
        warnings=warnings,
        source=definition.source,
    )
    if definition.on_failure:
        dag.global_trap = Node(
            id=GLOBAL_TRAP_ID,
            task=definition.tasks[definition.on_failure],
            level=len(graph.levels),
        )
    dag.validated = True
    return dag
