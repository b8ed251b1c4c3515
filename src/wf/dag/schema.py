"""The JSON Schema (draft 2020-12) of workflow files, generated from the parser's key table."""

from __future__ import annotations

import copy
import json
from typing import Any

from wf.dag.keys import TASK_TABLE, TRIGGER_TABLE, WORKFLOW_TABLE, Key
from wf.dag.triggers import REQUIRED_CONFIG

__all__ = ["workflow_schema", "workflow_schema_json"]

_DRAFT = "https://json-schema.org/draft/2020-12/schema"


def _properties(table: tuple[Key, ...]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for key in table:
        schema = copy.deepcopy(key.schema)
        schema["description"] = key.help
        properties[key.name] = schema
    return properties


def _closed(table: tuple[Key, ...], **extra: Any) -> dict[str, Any]:
    """An object schema that accepts the keys of TABLE and no other."""
    return {
        "type": "object",
        "properties": _properties(table),
        "additionalProperties": False,
        **extra,
    }


def _trigger_schema() -> dict[str, Any]:
    """Each known trigger type requires its config key, a non-empty string."""
    rules = [
        {
            "if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
            "then": {
                "properties": {
                    "config": {
                        "required": [setting],
                        "properties": {setting: {"type": "string", "pattern": r"\S"}},
                    }
                },
                "required": ["config"],
            },
        }
        for kind, setting in REQUIRED_CONFIG.items()
    ]
    return _closed(TRIGGER_TABLE, required=["type"], allOf=rules)


def _task_schema() -> dict[str, Any]:
    """A task table; forensic tasks have no matrix, dependencies, trap, pools or cache keys."""
    forensic = {
        "if": {"properties": {"type": {"const": "forensic"}}, "required": ["type"]},
        "then": {
            "properties": {
                "matrix": {"maxProperties": 0},
                "depends_on": {"maxItems": 0},
                "on_failure": {"maxLength": 0},
                "pool": False,
                "pools": {"maxProperties": 0},
                "inputs": {"maxItems": 0},
                "outputs": {"maxItems": 0},
            }
        },
    }
    # A task without inputs always runs, so outputs alone mean nothing (docs/caching.md).
    return _closed(
        TASK_TABLE, required=["cmd"], allOf=[forensic], dependentRequired={"outputs": ["inputs"]}
    )


def workflow_schema() -> dict[str, Any]:
    """The schema as a JSON-ready dict: workflow keys at the top, tasks and triggers in $defs."""
    schema: dict[str, Any] = {
        "$schema": _DRAFT,
        "title": "wf workflow file",
        "description": "A wf workflow: a DAG of shell tasks (see docs/workflow-files.md).",
    }
    schema.update(_closed(WORKFLOW_TABLE, required=["tasks"]))
    schema["$defs"] = {"task": _task_schema(), "trigger": _trigger_schema()}
    return schema


def workflow_schema_json() -> str:
    """``workflow_schema()`` as indented JSON text, ending with a newline."""
    return json.dumps(workflow_schema(), indent=2, ensure_ascii=False) + "\n"
