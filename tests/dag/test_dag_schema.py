"""``wf schema``: the JSON Schema accepts exactly the keys and value types the parser accepts."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wf.cli import main
from wf.dag import WorkflowError, build_dag, parse_workflow
from wf.dag.keys import TASK_TABLE, TRIGGER_TABLE, WORKFLOW_TABLE, Key
from wf.dag.model import WorkflowDefinition
from wf.dag.parse import _read_document
from wf.dag.report import Report
from wf.dag.schema import workflow_schema, workflow_schema_json
from wf.dag.tasks import _TaskReader, parse_task
from wf.dag.triggers import parse_triggers

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))
SCHEMA = workflow_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
KEYS = settings(max_examples=300, deadline=None)

# One value of every TOML type, with edge cases of the types most keys take.
SAMPLES: list[object] = [
    True,
    False,
    0,
    7,
    -3,
    2.5,
    0.5,
    "",
    "page",
    "   ",
    [],
    ["page"],
    [1],
    {},
    {"MODE": "fast"},
    {"k": ["v"]},
    {"k": "v"},
    datetime.date(2024, 1, 2),
]


def _base() -> dict[str, Any]:
    """A valid workflow whose forensic task "page" satisfies every trap reference."""
    return {"tasks": {"build": {"cmd": "true"}, "page": {"type": "forensic", "cmd": "true"}}}


def _workflow_errors(document: dict[str, Any]) -> list[str]:
    report = Report()
    _read_document(document, "flow", WorkflowDefinition(name="flow"), report)
    return report.errors


def _task_errors(table: dict[str, Any]) -> list[str]:
    report = Report()
    parse_task("build", table, report)
    return report.errors


def _trigger_errors(item: dict[str, Any]) -> list[str]:
    report = Report()
    parse_triggers([item], report)
    return report.errors


def _valid(document: dict[str, Any]) -> bool:
    return VALIDATOR.is_valid(document)


def _task_doc(table: dict[str, Any]) -> dict[str, Any]:
    document = _base()
    document["tasks"]["build"] = table
    return document


def _trigger_doc(item: dict[str, Any]) -> dict[str, Any]:
    return {**_base(), "triggers": [item]}


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_validates_against_the_schema(path: Path) -> None:
    import tomllib

    document = tomllib.loads(path.read_text(encoding="utf-8"))
    errors = [error.message for error in VALIDATOR.iter_errors(document)]
    assert errors == []
    parse_workflow(path)  # and the parser agrees


def test_every_workflow_snippet_of_the_docs_validates() -> None:
    import tomllib

    checked = 0
    for page in sorted((ROOT / "docs").glob("*.md")):
        for block in re.findall(r"```toml\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            if "[tasks." not in block or "#:invalid" in block:
                continue
            try:
                document = tomllib.loads(block)
            except tomllib.TOMLDecodeError:
                continue  # a fragment, not a whole file
            if "tasks" in document and all("cmd" in t for t in document["tasks"].values()):
                assert _valid(document), (page.name, block)
                checked += 1
    assert checked >= 5


# --- keys: accepted by the parser <=> in the schema ------------------------------------------

_KNOWN = sorted({k.name for k in (*WORKFLOW_TABLE, *TASK_TABLE, *TRIGGER_TABLE)})
_NEAR = ["Name", "cmds", "command", "depends", "pool", "tag", "schedule", "retry", "env_file"]
key_names = st.sampled_from([*_KNOWN, *_NEAR]) | st.text(min_size=1, max_size=12)


@KEYS
@given(key=key_names)
def test_a_workflow_key_is_accepted_exactly_when_the_schema_lists_it(key: str) -> None:
    document = _base()
    example = {k.name: k.example for k in WORKFLOW_TABLE}
    document.setdefault(key, example.get(key, "x"))
    unknown = any(e.startswith("unknown key") for e in _workflow_errors(document))
    assert unknown == (key not in SCHEMA["properties"])
    assert _valid(document) == (key in SCHEMA["properties"])


@KEYS
@given(key=key_names)
def test_a_task_key_is_accepted_exactly_when_the_schema_lists_it(key: str) -> None:
    example = {k.name: k.example for k in TASK_TABLE}
    needed = SCHEMA["$defs"]["task"]["dependentRequired"].get(key, [])
    table = {"cmd": "true", **{k: example[k] for k in needed}, key: example.get(key, "x")}
    unknown = any("unknown key" in e for e in _task_errors(table))
    assert unknown == (key not in SCHEMA["$defs"]["task"]["properties"])
    assert _valid(_task_doc(table)) == (key in SCHEMA["$defs"]["task"]["properties"])


@KEYS
@given(key=key_names)
def test_a_trigger_key_is_accepted_exactly_when_the_schema_lists_it(key: str) -> None:
    item = {"type": "cron", "config": {"schedule": "0 3 * * *"}}
    item.setdefault(key, "x")
    unknown = any("unknown key" in e for e in _trigger_errors(item))
    assert unknown == (key not in SCHEMA["$defs"]["trigger"]["properties"])
    assert _valid(_trigger_doc(item)) == (key in SCHEMA["$defs"]["trigger"]["properties"])


def test_the_parser_has_a_reader_for_every_task_key_and_no_other() -> None:
    readers = {name.removeprefix("read_") for name in dir(_TaskReader) if name.startswith("read_")}
    readers.discard("")  # `read` itself
    assert readers == {key.name for key in TASK_TABLE}


# --- values: the parser's type checks and the schema agree ------------------------------------


def _cases(table: tuple[Key, ...]) -> list[tuple[Key, object]]:
    return [(key, value) for key in table for value in [key.example, *SAMPLES]]


def _id(case: object) -> str:
    return case.name if isinstance(case, Key) else repr(case)


def _as_json(value: object) -> object:
    """The value as JSON sees it: a TOML date is a string in JSON."""
    return value.isoformat() if isinstance(value, datetime.date) else value


@pytest.mark.parametrize(("key", "value"), _cases(TASK_TABLE), ids=_id)
def test_task_values_agree(key: Key, value: object) -> None:
    # Keys that need others (outputs needs inputs) get those at their examples.
    needed = SCHEMA["$defs"]["task"]["dependentRequired"].get(key.name, [])
    base = {"cmd": "true", **{k.name: k.example for k in TASK_TABLE if k.name in needed}}
    errors = _task_errors({**base, key.name: value})
    _agree(key, value, errors, _valid(_task_doc({**base, key.name: _as_json(value)})))


@pytest.mark.parametrize(("key", "value"), _cases(WORKFLOW_TABLE), ids=_id)
def test_workflow_values_agree(key: Key, value: object) -> None:
    errors = _workflow_errors({**_base(), key.name: value})
    valid = _valid({**_base(), key.name: _as_json(value)})
    if key.name == "tasks" and isinstance(value, dict) and value and valid:
        # Tasks that the schema accepts are also tasks the parser accepts.
        assert errors == []
    _agree(key, value, errors, valid)


@pytest.mark.parametrize(("key", "value"), _cases(TRIGGER_TABLE), ids=_id)
def test_trigger_values_agree(key: Key, value: object) -> None:
    item: dict[str, Any] = {"type": "cron", "config": {"schedule": "0 3 * * *"}}
    item[key.name] = value
    errors = _trigger_errors(item)
    json_item = {**item, key.name: _as_json(value)}
    _agree(key, value, errors, _valid(_trigger_doc(json_item)))


def _agree(key: Key, value: object, errors: list[str], schema_valid: bool) -> None:
    """Schema-valid values parse without error; wrongly typed values fail both ways.

    A TOML date has no JSON type: the schema sees its ISO text, so only the parser judges it.
    """
    if value is key.example:
        assert errors == []
        assert schema_valid
    if isinstance(value, datetime.date):
        assert errors, f"the parser accepted a date for {key.name}"
        return
    type_errors = [e for e in errors if "must be" in e or "must have" in e]
    if schema_valid:
        # The schema checks types; a value of the right type may still break a rule no schema
        # can state (an ``if`` condition's syntax), so only type errors are disagreements.
        assert type_errors == [], f"{key.name} = {value!r}: schema accepts, parser says {errors}"
    if type_errors:
        assert not schema_valid, f"{key.name} = {value!r}: parser rejects, schema accepts"


# --- the command -----------------------------------------------------------------------------


def test_wf_schema_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    assert out == workflow_schema_json()
    assert json.loads(out) == SCHEMA


def test_wf_schema_writes_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "wf.schema.json"
    assert main(["schema", "-o", str(target)]) == 0
    assert json.loads(target.read_text(encoding="utf-8")) == SCHEMA
    assert capsys.readouterr().out == ""


def test_wf_schema_reports_an_unwritable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", "-o", str(tmp_path / "missing" / "s.json")]) == 1
    assert "cannot write" in capsys.readouterr().err


def test_the_schema_rejects_what_editors_should_flag() -> None:
    bad = [
        {"tasks": {}},
        {"tasks": {"a": {"cmd": "true", "retries": -1}}},
        {"tasks": {"a": {"cmd": "true", "timeout": "30"}}},
        {"tasks": {"a": {"cmd": "   "}}},
        {"tasks": {"a": {"command": "true"}}},
        {"tasks": {"__a": {"cmd": "true"}}},
        {"tasks": {"a": {"cmd": "true", "env": {"LD_PRELOAD": "x"}}}},
        {"tasks": {"a": {"type": "forensic", "cmd": "true", "depends_on": ["b"]}}},
        {"triggers": [{"type": "cron", "config": {}}], "tasks": {"a": {"cmd": "true"}}},
    ]
    for document in bad:
        assert not _valid(document), document
        with pytest.raises(WorkflowError):  # the parser agrees
            _strict_parse(document)


def _strict_parse(document: dict[str, Any]) -> None:
    report = Report()
    definition = WorkflowDefinition(name="flow")
    _read_document(document, "flow", definition, report)
    if report.errors:
        raise WorkflowError(errors=report.errors)
    build_dag(definition)
