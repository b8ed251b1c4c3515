"""Workflow definitions and their DAG: parsing, validation and graph building.

See docs/workflow-files.md.
"""

from wf.dag.build import build_dag, load_dag
from wf.dag.duration import DurationError, format_duration, parse_duration
from wf.dag.model import (
    DAG,
    GLOBAL_TRAP_ID,
    Node,
    TaskDefinition,
    Trigger,
    WorkflowDefinition,
    WorkflowError,
    WorkflowNotFoundError,
)
from wf.dag.parse import parse_workflow, parse_workflow_text

__all__ = [
    "DAG",
    "GLOBAL_TRAP_ID",
    "DurationError",
    "Node",
    "TaskDefinition",
    "Trigger",
    "WorkflowDefinition",
    "WorkflowError",
    "WorkflowNotFoundError",
    "build_dag",
    "format_duration",
    "load_dag",
    "parse_duration",
    "parse_workflow",
    "parse_workflow_text",
]
