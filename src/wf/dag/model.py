"""Data classes of the workflow model: definitions as parsed, and the built DAG.

See docs/api.md#build-a-workflow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from wf.errors import WfError

GLOBAL_TRAP_ID = "__GLOBAL_FAILURE_TRAP__"

TASK_TYPE_NORMAL = "normal"
TASK_TYPE_FORENSIC = "forensic"


class WorkflowError(WfError):
    """An invalid workflow: load, parse, validation or DAG build errors.

    ``errors`` and ``warnings`` are lists of one-line strings; ``definition`` is the partial
    definition when parsing got that far, else None.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: list[str] | None = None,
        warnings: list[str] | None = None,
        definition: WorkflowDefinition | None = None,
    ) -> None:
        self.errors: list[str] = list(errors or [])
        self.warnings: list[str] = list(warnings or [])
        self.definition = definition
        #: What the user asked for (a name or a path), when no definition was read.
        self.source = ""
        if message is None:
            lines = [f"workflow definition validation failed: {len(self.errors)} error(s)"]
            lines.extend(f"  - {e}" for e in self.errors)
            message = "\n".join(lines)
        super().__init__(message)

    @property
    def workflow_name(self) -> str:
        """The workflow's name when known, else what the user asked for (may be empty)."""
        return self.definition.name if self.definition is not None else self.source


@dataclass
class TaskDefinition:
    """One ``[tasks.<id>]`` table, with defaults applied and durations in float seconds."""

    id: str
    cmd: str = ""
    name: str = ""
    description: str = ""
    type: str = TASK_TYPE_NORMAL
    depends_on: list[str] = field(default_factory=list)
    working_dir: str = ""
    env: dict[str, str] = field(default_factory=dict)
    clean_env: bool = False
    condition: str = ""
    matrix: dict[str, list[str]] = field(default_factory=dict)
    register: str = ""
    ignore_failure: bool = False
    retries: int = 0
    retry_delay: float = 0.0
    retry_backoff: float = 1.0
    retry_max_delay: float | None = None
    timeout: float | None = None
    kill_grace: float | None = None
    on_failure: str = ""
    #: Resource pool name -> weight this task takes while it runs.
    pools: dict[str, int] = field(default_factory=dict)
    #: Glob patterns of the files the task reads and writes (incremental runs, docs/caching.md).
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.name:
            self.name = self.id

    @property
    def is_forensic(self) -> bool:
        """True for ``type = "forensic"`` tasks, which run only as failure traps."""
        return self.type == TASK_TYPE_FORENSIC

    def to_dict(self) -> dict[str, Any]:
        """The task with TOML key names (``if`` included) and durations in seconds or null.

        ``pools``, ``inputs`` and ``outputs`` appear only when set, so that tasks without them keep
        their fingerprints and older records keep their shape.
        """
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "type": self.type,
            "cmd": self.cmd,
            "depends_on": list(self.depends_on),
            "working_dir": self.working_dir,
            "env": dict(self.env),
            "clean_env": self.clean_env,
            "if": self.condition,
            "matrix": {k: list(v) for k, v in self.matrix.items()},
            "register": self.register,
            "ignore_failure": self.ignore_failure,
            "retries": self.retries,
            "retry_delay": self.retry_delay,
            "retry_backoff": self.retry_backoff,
            "retry_max_delay": self.retry_max_delay,
            "timeout": self.timeout,
            "kill_grace": self.kill_grace,
            "on_failure": self.on_failure,
        }
        if self.pools:
            out["pools"] = dict(self.pools)
        if self.inputs or self.outputs:
            out["inputs"] = list(self.inputs)
            out["outputs"] = list(self.outputs)
        return out


@dataclass(frozen=True)
class Trigger:
    """A declared trigger; validated, never executed."""

    type: str
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class WorkflowDefinition:
    """A parsed workflow file; ``tasks`` keeps file order."""

    name: str
    description: str = ""
    tags: list[str] = field(default_factory=list)
    on_failure: str = ""
    triggers: list[Trigger] = field(default_factory=list)
    tasks: dict[str, TaskDefinition] = field(default_factory=dict)
    #: Capacities of the pools the tasks use (the workflow's, then the config's defaults).
    pools: dict[str, int] = field(default_factory=dict)
    #: Names of the environment variables that hold secrets (docs/secrets.md).
    secrets: list[str] = field(default_factory=list)
    file_path: str = ""
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: The TOML text it was parsed from (kept with runs built from text, so they can resume).
    source: str = field(default="", repr=False)


@dataclass
class Node:
    """A schedulable unit: a normal task, or one matrix expansion ``<id>[k=v,...]``."""

    id: str
    task: TaskDefinition
    dependencies: list[str] = field(default_factory=list)
    dependents: list[str] = field(default_factory=list)
    level: int = 0
    can_run_in_parallel: bool = False
    is_expanded: bool = False
    matrix_vars: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """Display name: the task name, with the bracket suffix for expansions."""
        if self.is_expanded:
            return self.task.name + self.id[len(self.task.id) :]
        return self.task.name


@dataclass
class DAG:
    """The built graph of a workflow. Execution never mutates it."""

    name: str
    file_path: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    nodes: dict[str, Node] = field(default_factory=dict)
    levels: list[list[str]] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)
    leaves: list[str] = field(default_factory=list)
    total_tasks: int = 0
    global_trap: Node | None = None
    forensic_tasks: dict[str, TaskDefinition] = field(default_factory=dict)
    triggers: list[Trigger] = field(default_factory=list)
    #: Pool name -> capacity, for the pools the tasks use.
    pools: dict[str, int] = field(default_factory=dict)
    #: Names of the environment variables that hold secrets.
    secrets: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    validated: bool = False
    #: The TOML text the workflow was parsed from ("" when unknown).
    source: str = field(default="", repr=False)

    def sequential_order(self) -> list[str]:
        """Level 0 to N, ascending node IDs inside each level.

        See docs/executors.md#the-three-modes.
        """
        return [node_id for level in self.levels for node_id in level]

    def to_dict(self) -> dict[str, Any]:
        """The ``dag_cache.dag_json`` object (docs/json.md#wf-inspect---json)."""
        out: dict[str, Any] = {
            "name": self.name,
            "file_path": self.file_path,
            "total_tasks": self.total_tasks,
        }
        if self.global_trap is not None:
            out["global_trap"] = self.global_trap.task.id
        if self.pools:
            out["pools"] = dict(self.pools)
        if self.secrets:
            out["secrets"] = list(self.secrets)
        nodes = []
        for node_id in self.sequential_order():
            node = self.nodes[node_id]
            item: dict[str, Any] = {
                "id": node.id,
                "task_def": node.task.to_dict(),
                "is_expanded": node.is_expanded,
            }
            if node.matrix_vars:
                item["matrix_vars"] = dict(node.matrix_vars)
            if node.dependencies:
                item["dependency_ids"] = list(node.dependencies)
            item["level"] = node.level
            item["can_run_in_parallel"] = node.can_run_in_parallel
            nodes.append(item)
        out["nodes"] = nodes
        return out

    def to_json(self) -> str:
        """``to_dict()`` as compact JSON."""
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)

    def to_cache_json(self) -> str:
        """What a run's DAG cache stores: ``to_json()``, plus ``workflow_source`` (the TOML
        text) for a workflow built from text, which has no file for resume to reload."""
        data = self.to_dict()
        if not self.file_path and self.source:
            data["workflow_source"] = self.source
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


class WorkflowNotFoundError(WorkflowError):
    """The workflow file does not exist (a command error, exit 1, not an invalid definition)."""
