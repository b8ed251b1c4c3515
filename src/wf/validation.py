"""Workflow reports for ``wf validate`` and ``wf list``: validity, levels, order, triggers."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wf.dag import DAG, WorkflowError, load_dag
from wf.dag.unset import unset_variable_warnings


@dataclass
class ValidationResult:
    """One workflow as ``wf validate`` reports it (docs/cli.md#wf-validate)."""

    name: str
    file: str
    valid: bool
    task_count: int = 0
    execution_levels: list[list[str]] = field(default_factory=list)
    execution_order: list[str] = field(default_factory=list)
    parallelisable_tasks: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    triggers: list[dict[str, Any]] = field(default_factory=list)
    #: Pool name -> capacity, and task ID -> its pool weights (docs/workflow-files.md).
    pools: dict[str, int] = field(default_factory=dict)
    task_pools: dict[str, dict[str, int]] = field(default_factory=dict)
    dag: DAG | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``wf validate --json``."""
        return {
            "name": self.name,
            "file": self.file,
            "valid": self.valid,
            "task_count": self.task_count,
            "execution_levels": self.execution_levels,
            "execution_order": self.execution_order,
            "parallelisable_tasks": self.parallelisable_tasks,
            "errors": self.errors,
            "warnings": self.warnings,
            "triggers": self.triggers,
            "pools": self.pools,
            "task_pools": self.task_pools,
        }


def validate_workflow(
    source: str | os.PathLike[str],
    *,
    workflows_dir: str | os.PathLike[str] | None = None,
    pools: Mapping[str, int] | None = None,
) -> ValidationResult:
    """Parse and build SOURCE (a name or a path); never raises for an invalid definition.

    A workflow that cannot be found still raises WorkflowNotFoundError.
    """
    from wf.dag.model import WorkflowNotFoundError

    try:
        # Parses and links the graph once; POOLS are the config's defaults.
        dag = load_dag(source, workflows_dir=workflows_dir, pools=pools)
    except WorkflowNotFoundError:
        raise
    except WorkflowError as exc:
        partial = exc.definition
        name = partial.name if partial is not None else Path(os.fspath(source)).stem
        file = partial.file_path if partial is not None else os.fspath(source)
        errors = exc.errors or [str(exc)]
        return ValidationResult(
            name=name,
            file=file,
            valid=False,
            task_count=len(partial.tasks) if partial is not None else 0,
            errors=errors,
            warnings=list(exc.warnings),
            triggers=[{"type": t.type, "config": dict(t.config)} for t in partial.triggers]
            if partial is not None
            else [],
        )
    return ValidationResult(
        name=dag.name,
        file=dag.file_path,
        valid=True,
        task_count=dag.total_tasks,
        execution_levels=[list(level) for level in dag.levels],
        execution_order=dag.sequential_order(),
        parallelisable_tasks=sum(len(level) for level in dag.levels if len(level) > 1),
        warnings=list(dag.warnings) + unset_variable_warnings(dag),
        triggers=[{"type": t.type, "config": dict(t.config)} for t in dag.triggers],
        pools=dict(sorted(dag.pools.items())),
        task_pools={n: dict(node.task.pools) for n, node in dag.nodes.items() if node.task.pools},
        dag=dag,
    )


def workflow_files(workflows_dir: str | os.PathLike[str]) -> list[Path]:
    """Every ``*.toml`` in the workflows directory, sorted by name."""
    directory = Path(workflows_dir)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.toml") if p.is_file())


@dataclass
class WorkflowInfo:
    """One row of ``wf list``."""

    name: str
    file: str
    valid: bool
    tasks: int
    description: str = ""
    tags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``wf list --json``."""
        return {
            "name": self.name,
            "file": self.file,
            "valid": self.valid,
            "tasks": self.tasks,
            "description": self.description,
            "tags": list(self.tags),
        }


def describe_workflow(path: Path, *, pools: Mapping[str, int] | None = None) -> WorkflowInfo:
    """Name, validity and task-definition count of one file (0 tasks if it cannot be parsed)."""
    try:
        dag = load_dag(path, pools=pools)
    except WorkflowError as exc:
        partial = exc.definition
        tasks = len(partial.tasks) if partial is not None else _raw_task_count(path)
        return WorkflowInfo(
            name=partial.name if partial is not None else path.stem,
            file=str(path),
            valid=False,
            tasks=tasks,
            description=partial.description if partial is not None else "",
            tags=list(partial.tags) if partial is not None else [],
        )
    return WorkflowInfo(
        name=dag.name,
        file=str(path),
        valid=True,
        tasks=len({node.task.id for node in dag.nodes.values()}) + len(dag.forensic_tasks),
        description=dag.description,
        tags=list(dag.tags),
    )


def _raw_task_count(path: Path) -> int:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return 0
    tasks = document.get("tasks")
    return len(tasks) if isinstance(tasks, dict) else 0
