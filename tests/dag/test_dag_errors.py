"""Validation errors E1–E8, with their exact messages, and how they are collected.

See docs/workflow-files.md#validation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from wf.dag import WorkflowError, parse_workflow, parse_workflow_text
from wf.dag.model import WorkflowNotFoundError

Errors = Callable[..., list[str]]

OK_TASK = '[tasks.a]\ncmd = "true"\n'


# --- E1 workflow name -----------------------------------------------------------------------


def test_e1_invalid_name_key(errors_of: Errors) -> None:
    assert errors_of('name = "../evil"\n' + OK_TASK) == [
        "invalid workflow name '../evil': must match ^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$"
    ]


def test_e1_invalid_stem_without_name_key_suggests_adding_one(errors_of: Errors) -> None:
    [error] = errors_of(OK_TASK, name="my flow.v2")
    assert error == (
        'invalid workflow name "my flow.v2" from the file name (must match '
        "^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$): add a top-level key such as "
        'name = "my-flow-v2"'
    )


def test_e1_invalid_stem_is_fine_when_a_valid_name_key_is_given() -> None:
    definition = parse_workflow_text('name = "flow"\n' + OK_TASK, name="my flow")
    assert definition.name == "flow"


def test_e1_name_key_must_be_a_string(errors_of: Errors) -> None:
    assert errors_of("name = 3\n" + OK_TASK) == ['key "name" must be a string']


def test_e1_invalid_name_argument_is_rejected_before_any_file_access(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError) as caught:
        parse_workflow("../secrets", workflows_dir=tmp_path)
    assert caught.value.errors == [
        "invalid workflow name '../secrets': must match ^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$"
        " (and no file ../secrets exists)"
    ]


# --- E2 missing or unreadable file ----------------------------------------------------------


def test_e2_missing_workflow_names_the_path_looked_for(tmp_path: Path) -> None:
    with pytest.raises(WorkflowNotFoundError) as caught:
        parse_workflow("nightly", workflows_dir=tmp_path)
    assert caught.value.errors == [
        f"workflow not found: nightly (looked for {tmp_path / 'nightly.toml'})"
    ]
    assert caught.value.definition is None


def test_e2_non_utf8_file_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "latin.toml").write_bytes(b'[tasks.a]\ncmd = "caf\xe9"\n')
    with pytest.raises(WorkflowError) as caught:
        parse_workflow("latin", workflows_dir=tmp_path)
    [error] = caught.value.errors
    assert error.startswith(f"cannot read workflow file {tmp_path / 'latin.toml'}: not UTF-8")


def test_e2_directory_in_place_of_the_file(tmp_path: Path) -> None:
    (tmp_path / "dir.toml").mkdir()
    with pytest.raises(WorkflowError) as caught:
        parse_workflow("dir", workflows_dir=tmp_path)
    assert caught.value.errors == [f"workflow file is a directory: {tmp_path / 'dir.toml'}"]


# --- E3 TOML syntax -------------------------------------------------------------------------


def test_e3_toml_syntax_error_gives_line_and_column(errors_of: Errors) -> None:
    assert errors_of('[tasks.a]\ncmd = "true"\nretries = = 2\n') == [
        "TOML syntax error at line 3, column 11: Invalid value"
    ]


def test_e3_error_at_end_of_document_points_past_the_last_character(errors_of: Errors) -> None:
    [error] = errors_of('[tasks.a]\ncmd = "unterminated')
    assert error.startswith("TOML syntax error at line 2, column 20: ")


def test_e3_duplicate_key_is_a_syntax_error(errors_of: Errors) -> None:
    [error] = errors_of('[tasks.a]\ncmd = "a"\ncmd = "b"\n')
    assert error.startswith("TOML syntax error at line 3, column ")


# --- E4 unknown keys ------------------------------------------------------------------------


def test_e4_unknown_workflow_key_with_suggestion(errors_of: Errors) -> None:
    assert errors_of('descripton = "x"\n' + OK_TASK) == [
        'unknown key "descripton" (did you mean "description"?)'
    ]


def test_e4_unknown_workflow_key_without_suggestion(errors_of: Errors) -> None:
    assert errors_of('zzz = "x"\n' + OK_TASK) == ['unknown key "zzz"']


def test_e4_unknown_task_key_with_suggestion(errors_of: Errors) -> None:
    assert errors_of('[tasks.a]\ncmd = "true"\ndepend_on = []\n') == [
        'task "a": unknown key "depend_on" (did you mean "depends_on"?)'
    ]


def test_e4_unknown_trigger_key_with_suggestion(errors_of: Errors) -> None:
    text = '[[triggers]]\ntype = "cron"\nconfg = {}\nconfig = { schedule = "@daily" }\n'
    assert errors_of(text + OK_TASK) == ['trigger 1: unknown key "confg" (did you mean "config"?)']


# --- E5 types and numbers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("name = 1", 'task "a": key "name" must be a string'),
        ("description = []", 'task "a": key "description" must be a string'),
        ('depends_on = "b"', 'task "a": key "depends_on" must be an array of strings'),
        ("depends_on = [1]", 'task "a": key "depends_on" must be an array of strings'),
        ("working_dir = 1", 'task "a": key "working_dir" must be a string'),
        ("env = []", 'task "a": key "env" must be a table of strings'),
        ("env = { X = 1 }", 'task "a": key "env.X" must be a string'),
        ("clean_env = 1", 'task "a": key "clean_env" must be a boolean'),
        ('ignore_failure = "yes"', 'task "a": key "ignore_failure" must be a boolean'),
        ("if = true", 'task "a": key "if" must be a string'),
        ("register = 1", 'task "a": key "register" must be a string'),
        ("on_failure = 1", 'task "a": key "on_failure" must be a string'),
        ("matrix = [1]", 'task "a": key "matrix" must be a table of arrays'),
        ("retries = true", 'task "a": key "retries" must be an integer'),
        ("retries = 1.5", 'task "a": key "retries" must be an integer'),
        ("retries = -1", 'task "a": key "retries" must be >= 0, not -1'),
        ("retry_backoff = true", 'task "a": key "retry_backoff" must be a number'),
        ("retry_backoff = 0.5", 'task "a": key "retry_backoff" must be a number >= 1.0, not 0.5'),
        ("retry_backoff = nan", 'task "a": key "retry_backoff" must be a number >= 1.0, not nan'),
        (
            "timeout = true",
            'task "a": key "timeout" must be a duration (a number of seconds or a string such'
            ' as "30s")',
        ),
        (
            'timeout = "30"',
            'task "a": key "timeout": missing unit in duration "30" (write "30s" or the number 30)',
        ),
        (
            "retry_delay = -1",
            'task "a": key "retry_delay": negative duration -1: durations must be >= 0',
        ),
        (
            'kill_grace = "-5s"',
            'task "a": key "kill_grace": negative duration "-5s": durations must be >= 0',
        ),
    ],
)
def test_e5_wrong_types_and_values_of_task_keys(errors_of: Errors, line: str, message: str) -> None:
    assert errors_of(f'[tasks.a]\ncmd = "true"\n{line}\n') == [message]


def test_e5_malformed_duration(errors_of: Errors) -> None:
    [error] = errors_of('[tasks.a]\ncmd = "true"\nretry_max_delay = "soon"\n')
    assert error.startswith('task "a": key "retry_max_delay": invalid duration "soon"')


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("description = 1", 'key "description" must be a string'),
        ('tags = "x"', 'key "tags" must be an array of strings'),
        ("tags = [1]", 'key "tags" must be an array of strings'),
        ("on_failure = []", 'key "on_failure" must be a string'),
        ("triggers = {}", 'key "triggers" must be an array of tables'),
    ],
)
def test_e5_wrong_types_of_workflow_keys(errors_of: Errors, line: str, message: str) -> None:
    assert errors_of(f"{line}\n{OK_TASK}") == [message]


def test_e5_tasks_must_be_a_table_of_tables(errors_of: Errors) -> None:
    assert errors_of('tasks = ["a"]\n') == ['key "tasks" must be a table of tables']
    assert errors_of("tasks = { a = 1 }\n") == ['task "a" must be a table']


# --- E6 no tasks ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", 'name = "flow"\n', "[tasks]\n"])
def test_e6_workflow_without_tasks(errors_of: Errors, text: str) -> None:
    assert errors_of(text) == ["workflow must define at least one task"]


# --- E7 task IDs ----------------------------------------------------------------------------


@pytest.mark.parametrize("task_id", ["a b", "a.b", "é", "x" * 129, ""])
def test_e7_invalid_task_id(errors_of: Errors, task_id: str) -> None:
    assert errors_of(f'[tasks."{task_id}"]\ncmd = "true"\n') == [
        f'task "{task_id}" has invalid name (allowed: letters, digits, _, -)'
    ]


def test_e7_reserved_task_id(errors_of: Errors) -> None:
    assert errors_of('[tasks.__GLOBAL_FAILURE_TRAP__]\ncmd = "true"\n') == [
        'task "__GLOBAL_FAILURE_TRAP__" has invalid name (allowed: letters, digits, _, -): '
        'IDs starting with "__" are reserved for wf'
    ]


def test_e7_longest_valid_task_id_is_accepted(dag_of: Callable[..., object]) -> None:
    dag_of(f'[tasks.{"x" * 128}]\ncmd = "true"\n')


# --- E8 command -----------------------------------------------------------------------------


@pytest.mark.parametrize("line", ["", 'cmd = ""', 'cmd = "  \\t "'])
def test_e8_task_without_a_command(errors_of: Errors, line: str) -> None:
    assert errors_of(f"[tasks.build]\n{line}\n") == ["task build must have a command"]


def test_e8_command_with_nul_byte(errors_of: Errors) -> None:
    assert errors_of('[tasks.a]\ncmd = "echo \\u0000"\n') == [
        'task "a": key "cmd" contains a NUL byte'
    ]


# --- collection and the exception -----------------------------------------------------------


def test_all_errors_are_collected_before_failing(errors_of: Errors) -> None:
    text = (
        'nme = "x"\n'
        '[tasks.a]\ncmd = ""\nretries = -2\ntimeout = "30"\n'
        '[tasks."b c"]\ncmd = "true"\ndepends_on = ["ghost"]\n'
        '[tasks.d]\ncmd = "true"\ndepends_on = ["d"]\n'
    )
    assert errors_of(text) == [
        'unknown key "nme" (did you mean "name"?)',
        'task "a": key "retries" must be >= 0, not -2',
        'task "a": key "timeout": missing unit in duration "30" (write "30s" or the number 30)',
        "task a must have a command",
        'task "b c" has invalid name (allowed: letters, digits, _, -)',
        "dependency resolution failed: task b c depends on undefined task ghost",
        "circular dependency detected: d -> d",
    ]


def test_workflow_error_carries_warnings_and_the_partial_definition() -> None:
    text = 'name = "other"\n[tasks.a]\ncmd = ""\n[tasks.b]\ncmd = "true"\nretries = 11\n'
    with pytest.raises(WorkflowError) as caught:
        parse_workflow_text(text, name="flow")
    error = caught.value
    assert error.errors == ["task a must have a command"]
    assert error.warnings == [
        'workflow name "other" differs from the file name "flow"',
        'task "b": retries = 11 is more than 10',
    ]
    assert error.definition is not None
    assert error.definition.name == "other"
    assert list(error.definition.tasks) == ["a", "b"]
    assert error.definition.errors == error.errors
    assert error.workflow_name == "other"
    assert str(error) == (
        "workflow definition validation failed: 1 error(s)\n  - task a must have a command"
    )


def test_errors_stay_on_one_line_for_hostile_ids(errors_of: Errors) -> None:
    errors = errors_of('[tasks."a\\nb"]\ncmd = "true"\ndepends_on = ["x\\ny"]\n')
    assert errors == [
        'task "a\\nb" has invalid name (allowed: letters, digits, _, -)',
        'dependency resolution failed: task "a\\nb" depends on undefined task "x\\ny"',
    ]
