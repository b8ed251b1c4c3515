"""Parsing and validating workflow files: every error and warning, collected at once.

See docs/workflow-files.md.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from typing import Any

from wf.dag.gcpause import gc_paused
from wf.dag.graph import Graph, analyse
from wf.dag.keys import WORKFLOW_TABLE, names
from wf.dag.matrix import MAX_NODES, expansion_count
from wf.dag.model import WorkflowDefinition, WorkflowError
from wf.dag.pools import parse_capacities, resolve_pools
from wf.dag.report import Report, quote, unknown_key
from wf.dag.source import locate_workflow, read_workflow_text
from wf.dag.tasks import parse_task
from wf.dag.triggers import parse_triggers
from wf.errors import SecurityError
from wf.security import validate_env_key, validate_workflow_name

__all__ = [
    "WORKFLOW_KEYS",
    "analyse_workflow",
    "analyse_workflow_text",
    "parse_workflow",
    "parse_workflow_text",
]

WORKFLOW_KEYS = names(WORKFLOW_TABLE)
_TOML_POSITION_RE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_NOT_IN_NAME_RE = re.compile(r"[^A-Za-z0-9_-]+")


def parse_workflow(
    source: str | os.PathLike[str],
    *,
    workflows_dir: str | os.PathLike[str] | None = None,
    pools: Mapping[str, int] | None = None,
) -> WorkflowDefinition:
    """Load SOURCE, a workflow name or path, and validate it.

    SOURCE is found as docs/workflow-files.md#loading-a-workflow describes.

    ``workflows_dir=None`` means the configured directory, and ``pools=None`` the configured
    default pools (read only when a task names a pool the workflow does not declare). Raises
    WorkflowError listing every problem found.
    """
    return analyse_workflow(source, workflows_dir=workflows_dir, pools=pools)[0]


def parse_workflow_text(
    text: str, *, name: str, file_path: str = "", pools: Mapping[str, int] | None = None
) -> WorkflowDefinition:
    """Validate workflow TOML TEXT; NAME stands for the file stem.

    See docs/workflow-files.md#loading-a-workflow.
    """
    return analyse_workflow_text(text, name=name, file_path=file_path, pools=pools)[0]


def analyse_workflow(
    source: str | os.PathLike[str],
    *,
    workflows_dir: str | os.PathLike[str] | None = None,
    pools: Mapping[str, int] | None = None,
) -> tuple[WorkflowDefinition, Graph]:
    """``parse_workflow``, also returning the graph that validation built on the way."""
    try:
        path = locate_workflow(source, workflows_dir)
        text = read_workflow_text(source, path)
    except WorkflowError as exc:
        exc.source = os.fspath(source)
        raise
    return analyse_workflow_text(text, name=path.stem, file_path=str(path.absolute()), pools=pools)


def analyse_workflow_text(
    text: str, *, name: str, file_path: str = "", pools: Mapping[str, int] | None = None
) -> tuple[WorkflowDefinition, Graph]:
    """``parse_workflow_text``, also returning the graph that validation built on the way."""
    report = Report()
    definition = WorkflowDefinition(name=name, file_path=file_path, source=text)
    graph = Graph()
    with gc_paused():
        document = _load_toml(text, report)
        if document is not None:
            graph = _read_document(document, name, definition, report, pools)
    definition.errors = report.errors
    definition.warnings = report.warnings
    if report.errors:
        raise WorkflowError(errors=report.errors, warnings=report.warnings, definition=definition)
    return definition, graph


def _load_toml(text: str, report: Report) -> dict[str, Any] | None:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        report.error(_syntax_message(str(exc), text))
    except RecursionError:
        report.error("TOML syntax error at line 1, column 1: values are nested too deeply")
    return None


def _syntax_message(reason: str, text: str) -> str:
    """'TOML syntax error at line L, column C: <reason>' from tomllib's message."""
    match = _TOML_POSITION_RE.search(reason)
    if match:
        line, column = int(match[1]), int(match[2])
        reason = reason[: match.start()]
    else:
        # "(at end of document)": point just past the last character.
        reason = reason.removesuffix(" (at end of document)")
        line = text.count("\n") + 1
        column = len(text) - (text.rfind("\n") + 1) + 1
    return f"TOML syntax error at line {line}, column {column}: {reason}"


def _read_document(
    document: dict[str, Any],
    stem: str,
    definition: WorkflowDefinition,
    report: Report,
    default_pools: Mapping[str, int] | None = None,
) -> Graph:
    for key in document:
        if key not in _WORKFLOW_READERS:
            report.error(unknown_key(key, WORKFLOW_KEYS))
    # Every key is read, present or not: the defaults and "no tasks" come from the readers.
    unusable: set[str] = set()
    for read in _WORKFLOW_READERS.values():
        unusable |= read(document, stem, definition, report)
    demands = {task.id: task.pools for task in definition.tasks.values() if task.pools}
    if demands or definition.pools:
        definition.pools = resolve_pools(
            definition.pools, demands, lambda: _default_pools(default_pools), report
        )
    graph = analyse(definition, unusable=unusable)
    report.errors.extend(graph.errors)
    return graph


def _read_name(doc: dict[str, Any], stem: str, out: WorkflowDefinition, report: Report) -> set[str]:
    out.name = _workflow_name(doc, stem, report)
    return set()


def _read_description(
    doc: dict[str, Any], stem: str, out: WorkflowDefinition, report: Report
) -> set[str]:
    out.description = _string(doc, "description", report)
    return set()


def _read_tags(doc: dict[str, Any], stem: str, out: WorkflowDefinition, report: Report) -> set[str]:
    tags = doc.get("tags", [])
    if isinstance(tags, list) and all(isinstance(tag, str) for tag in tags):
        out.tags = list(tags)
    else:
        report.error('key "tags" must be an array of strings')
    return set()


def _read_on_failure(
    doc: dict[str, Any], stem: str, out: WorkflowDefinition, report: Report
) -> set[str]:
    out.on_failure = _string(doc, "on_failure", report)
    return set()


def _read_triggers(
    doc: dict[str, Any], stem: str, out: WorkflowDefinition, report: Report
) -> set[str]:
    out.triggers = parse_triggers(doc.get("triggers", []), report)
    return set()


def _read_pools(
    doc: dict[str, Any], stem: str, out: WorkflowDefinition, report: Report
) -> set[str]:
    if "pools" in doc:
        out.pools, problems = parse_capacities(doc["pools"], "")
        report.errors.extend(problems)
    return set()


def _read_secrets(
    doc: dict[str, Any], stem: str, out: WorkflowDefinition, report: Report
) -> set[str]:
    value = doc.get("secrets", [])
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        report.error('key "secrets" must be an array of environment variable names')
        return set()
    for name in value:
        try:
            validate_env_key(name)
        except SecurityError as exc:
            report.error(f'key "secrets": {exc}')
            continue
        if name in out.secrets:
            report.error(f'key "secrets": {quote(name)} is listed twice')
        else:
            out.secrets.append(name)
    return set()


def _default_pools(given: Mapping[str, int] | None) -> Mapping[str, int]:
    """The config's pools when the caller gave none (read from the configured home)."""
    if given is not None:
        return given
    from wf.config import load_config
    from wf.errors import WfError

    try:
        return load_config().pools
    except WfError:
        return {}


def _read_tasks_key(
    doc: dict[str, Any], stem: str, out: WorkflowDefinition, report: Report
) -> set[str]:
    return _read_tasks(doc.get("tasks"), out, report)


_Reader = Callable[[dict[str, Any], str, WorkflowDefinition, Report], set[str]]
# One reader per key of the table; a key without a reader fails here, at import.
_WORKFLOW_READERS: dict[str, _Reader] = {
    key: {
        "name": _read_name,
        "description": _read_description,
        "tags": _read_tags,
        "on_failure": _read_on_failure,
        "triggers": _read_triggers,
        "tasks": _read_tasks_key,
        "pools": _read_pools,
        "secrets": _read_secrets,
    }[key]
    for key in WORKFLOW_KEYS
}


def _string(document: dict[str, Any], key: str, report: Report) -> str:
    value = document.get(key, "")
    if not isinstance(value, str):
        report.error(f"key {quote(key)} must be a string")
        return ""
    return value


def _workflow_name(document: dict[str, Any], stem: str, report: Report) -> str:
    """The ``name`` key, else the file stem; both must pass the name rule.

    See docs/workflow-files.md#loading-a-workflow.
    """
    if "name" not in document:
        if not _valid_name(stem):
            suggestion = _NOT_IN_NAME_RE.sub("-", stem).strip("-")[:128] or "my-workflow"
            report.error(
                f"invalid workflow name {quote(stem)} from the file name (must match "
                "^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$): add a top-level key such as "
                f"name = {quote(suggestion)}"
            )
        return stem
    value = document["name"]
    if not isinstance(value, str):
        report.error('key "name" must be a string')
        return stem
    try:
        validate_workflow_name(value)
    except SecurityError as exc:
        report.error(str(exc))
    else:
        if stem and value != stem:
            report.warn(f"workflow name {quote(value)} differs from the file name {quote(stem)}")
    return value


def _valid_name(name: str) -> bool:
    try:
        validate_workflow_name(name)
    except SecurityError:
        return False
    return True


def _read_tasks(tasks: object, definition: WorkflowDefinition, report: Report) -> set[str]:
    """Fill ``definition.tasks``; return the IDs whose table or matrix cannot be used."""
    unusable: set[str] = set()
    if tasks is None or tasks == {}:
        report.error("workflow must define at least one task")
        return unusable
    if not isinstance(tasks, dict):
        report.error('key "tasks" must be a table of tables')
        return unusable
    for task_id, table in tasks.items():
        parsed = parse_task(task_id, table, report)
        if parsed is None:
            unusable.add(task_id)
            continue
        task, matrix_usable = parsed
        if not matrix_usable:
            unusable.add(task_id)
        definition.tasks[task_id] = task
    total = sum(expansion_count(t.matrix) for t in definition.tasks.values() if not t.is_forensic)
    if total > MAX_NODES:
        report.error(
            f"workflow expands to {total:,} nodes (at most {MAX_NODES:,} are allowed): "
            "reduce the matrices"
        )
        for task in definition.tasks.values():
            if task.matrix:
                task.matrix = {}  # nothing is expanded
                unusable.add(task.id)
    return unusable
