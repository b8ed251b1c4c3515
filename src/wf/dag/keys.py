"""The key table of workflow files: every key the parser accepts, its value schema and help.

The parser takes its key lists from here (``wf.dag.parse``, ``wf.dag.tasks``,
``wf.dag.triggers``) and ``wf schema`` turns the same table into a JSON Schema
(``wf.dag.schema``), so the two cannot drift apart (docs/workflow-files.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wf.contextmap import RESERVED_NAMES
from wf.dag.pools import POOL_NAME_PATTERN

__all__ = [
    "DURATION",
    "TASK_TABLE",
    "TRIGGER_TABLE",
    "WORKFLOW_TABLE",
    "Key",
    "names",
]

Schema = dict[str, Any]


@dataclass(frozen=True)
class Key:
    """One accepted key: its name, the JSON Schema of its value, help text and an example."""

    name: str
    schema: Schema
    help: str
    example: object


def names(table: tuple[Key, ...]) -> tuple[str, ...]:
    """The key names of TABLE, in table order."""
    return tuple(key.name for key in table)


def _any_case(word: str) -> str:
    """A regex fragment matching WORD in any letter case (ECMA regexes have no (?i))."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


STRING: Schema = {"type": "string"}
BOOLEAN: Schema = {"type": "boolean"}
STRINGS: Schema = {"type": "array", "items": {"type": "string"}}
# Glob patterns of inputs/outputs (docs/caching.md); the parser also refuses blank ones.
_PATTERNS: Schema = {"type": "array", "items": {"type": "string", "minLength": 1}}
# Durations (docs/workflow-files.md#durations): seconds >= 0, or "<number><unit>" groups.
DURATION: Schema = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {
            "type": "string",
            "pattern": r"^(0|((\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$",
        },
    ]
}
_WORKFLOW_NAME = {"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$"}
_DENIED_ENV = "|".join(
    [
        f"{_any_case('ld_')}.*",
        f"{_any_case('dyld_')}.*",
        _any_case("bash_env"),
        *(_any_case(name) for name in ("wf_run_id", "wf_workflow", "wf_task_id")),
        *(_any_case(name) for name in ("wf_attempt", "wf_output")),
    ]
)
_ENV: Schema = {
    "type": "object",
    "propertyNames": {
        "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
        "not": {"pattern": f"^({_DENIED_ENV})$"},
    },
    "additionalProperties": {"type": "string"},
}
# A literal name is a valid, unreserved variable name; a templated one is checked at run time.
_REGISTER: Schema = {
    "type": "string",
    "anyOf": [
        {"pattern": r"\{\{"},
        {
            "pattern": r"^[A-Za-z0-9_.\-\[\]=,]{0,256}$",
            "not": {"enum": sorted(RESERVED_NAMES)},
        },
    ],
}
_TASK_ID = "^[A-Za-z0-9_-]{1,128}$"
# A trap reference: empty (none) or a task ID.
_TRAP: Schema = {"type": "string", "pattern": "^([A-Za-z0-9_-]{1,128})?$"}
# Resource pools (docs/workflow-files.md#resource-pools).
_POOL_NAME = POOL_NAME_PATTERN
_POOL_TABLE: Schema = {
    "type": "object",
    "propertyNames": {"pattern": _POOL_NAME},
    "additionalProperties": {"type": "integer", "minimum": 1},
}
_MATRIX: Schema = {
    "type": "object",
    "propertyNames": {"pattern": "^[A-Za-z0-9_-]+$"},
    "additionalProperties": {
        "type": "array",
        "minItems": 1,
        "uniqueItems": True,
        "items": {
            "anyOf": [
                {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"},
                {"type": "number"},
                {"type": "boolean"},
            ]
        },
    },
}

TRIGGER_TABLE: tuple[Key, ...] = (
    Key("type", STRING, "cron, file_watch or webhook (declared and validated, never run)", "cron"),
    Key("config", {"type": "object"}, "settings of the trigger type", {"schedule": "0 3 * * *"}),
)

TASK_TABLE: tuple[Key, ...] = (
    Key("name", STRING, "display name (default: the task ID)", "Build site"),
    Key("description", STRING, "free text shown by `wf graph --detail`", "builds the site"),
    Key(
        "type",
        {"enum": ["normal", "forensic"]},
        '"forensic" tasks run only as failure traps',
        "normal",
    ),
    Key(
        "cmd",
        {"type": "string", "pattern": r"\S"},
        "shell command, run with sh -c; {{.name}} placeholders are interpolated",
        "make site",
    ),
    Key("depends_on", STRINGS, 'upstream task IDs, or selectors such as "test[region=eu]"', []),
    Key("working_dir", STRING, "directory the command runs in (default: wf's own)", "./site"),
    Key("env", _ENV, "extra environment variables; values are interpolated", {"MODE": "fast"}),
    Key("clean_env", BOOLEAN, "start from an empty environment", False),
    Key("if", STRING, "condition; when false the task is skipped", 'channel == "stable"'),
    Key("matrix", _MATRIX, "expand the task over the product of these values", {"py": ["3.12"]}),
    Key("register", _REGISTER, "variable receiving the last non-empty stdout line", "commit"),
    Key("ignore_failure", BOOLEAN, "a final failure does not fail the run", False),
    Key("retries", {"type": "integer", "minimum": 0}, "extra attempts after a failure", 2),
    Key("retry_delay", DURATION, "delay before the second attempt", "10s"),
    Key(
        "retry_backoff",
        {"type": "number", "minimum": 1},
        "multiplier applied to each further delay",
        2.0,
    ),
    Key("retry_max_delay", DURATION, "cap on any single retry delay", "1m"),
    Key("timeout", DURATION, "per-attempt wall-clock limit (0: none)", "15m"),
    Key("kill_grace", DURATION, "wait between SIGTERM and SIGKILL", "5s"),
    Key("on_failure", _TRAP, "forensic task to run when this task finally fails", "page"),
    Key(
        "pool",
        {"type": "string", "pattern": _POOL_NAME},
        "resource pool this task takes one unit of while it runs",
        "gpu",
    ),
    Key("pools", _POOL_TABLE, "resource pools this task takes, pool = weight", {"gpu": 1}),
    Key("inputs", _PATTERNS, "files the task reads (globs); unchanged inputs skip it", ["src/*.c"]),
    Key("outputs", _PATTERNS, "files the task writes (globs), checked with inputs", ["app"]),
)

WORKFLOW_TABLE: tuple[Key, ...] = (
    Key("name", _WORKFLOW_NAME, "workflow name (default: the file stem)", "site-release"),
    Key("description", STRING, "free text", "Build and publish the site"),
    Key("tags", STRINGS, "labels stored on each run (`wf runs --tag`)", ["docs"]),
    Key("on_failure", _TRAP, "ID of the forensic task run when the run fails", "page"),
    Key(
        "triggers",
        {"type": "array", "items": {"$ref": "#/$defs/trigger"}},
        "declared triggers (validated, never executed)",
        [{"type": "cron", "config": {"schedule": "0 3 * * *"}}],
    ),
    Key(
        "tasks",
        {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": _TASK_ID, "not": {"pattern": "^__"}},
            "additionalProperties": {"$ref": "#/$defs/task"},
        },
        "the tasks, one [tasks.<id>] table each",
        {"greet": {"cmd": "echo hi"}},
    ),
    Key(
        "pools",
        _POOL_TABLE,
        "resource pools, pool = capacity: tasks in flight never take more than that",
        {"gpu": 1},
    ),
    Key(
        "secrets",
        {
            "type": "array",
            "uniqueItems": True,
            "items": {
                "type": "string",
                "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
                "not": {"pattern": f"^({_DENIED_ENV})$"},
            },
        },
        "environment variables holding secrets: required, given to every task, masked as ***",
        ["API_TOKEN"],
    ),
)
