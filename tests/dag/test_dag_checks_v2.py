"""Validation that catches run-time failures early: conditions, unset variables, register
names two nodes share, one-to-one matrix pairing and cron schedules."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wf.dag import DAG
from wf.dag.cron import cron_problem
from wf.dag.unset import unset_variable_warnings

Errors = Callable[..., list[str]]


def task(body: str = "", task_id: str = "a") -> str:
    return f'[tasks.{task_id}]\ncmd = "true"\n{body}\n'


# --- conditions ------------------------------------------------------------------------------


def test_a_condition_syntax_error_is_a_validation_error(errors_of: Errors) -> None:
    assert errors_of(task('if = "mode = 1"')) == [
        'task a: invalid condition "mode = 1": use == to compare at position 6'
    ]


def test_a_comparison_of_two_literals_is_a_validation_error(errors_of: Errors) -> None:
    assert errors_of(task('if = "1 == 2"')) == [
        'task a: invalid condition "1 == 2": at least one side of a comparison must be a '
        "variable at position 1"
    ]


# --- variables nothing sets ------------------------------------------------------------------


def test_an_unset_variable_is_named_with_a_suggestion(dag_of: Callable[..., DAG]) -> None:
    dag = dag_of(
        '[tasks.v]\ncmd = "echo 1.2"\nregister = "version"\n'
        '[tasks.p]\ncmd = "echo {{.versoin}}"\ndepends_on = ["v"]\n'
    )
    assert unset_variable_warnings(dag) == [
        'task p reads "versoin", which nothing sets (expected from --var or WF_OUTPUT?); '
        'did you mean "version"?'
    ]


def test_condition_variables_are_checked_too(dag_of: Callable[..., DAG]) -> None:
    dag = dag_of(task("if = 'channel == \"stable\"'"))
    assert unset_variable_warnings(dag) == [
        'task a reads "channel", which nothing sets (expected from --var or WF_OUTPUT?)'
    ]
    assert unset_variable_warnings(dag, provided=["channel"]) == []


def test_known_sources_give_no_warning(dag_of: Callable[..., DAG]) -> None:
    dag = dag_of(
        """
        on_failure = "trap"
        [tasks.count]
        cmd = 'echo "rows=3" >> "$WF_OUTPUT"; printf "a=1\\nb=2\\n" >> "$WF_OUTPUT"'
        [tasks.m]
        cmd = 'echo "{{.region}}_size=1" >> "$WF_OUTPUT"'
        matrix = { region = ["eu", "us"] }
        register = "out_{{.region}}"
        [tasks.use]
        cmd = "echo {{.rows}} {{.a}} {{.b}} {{.eu_size}} {{.out_us}} {{.m[region=eu].region}}"
        depends_on = ["count", "m"]
        if = "rows > 1"
        [tasks.trap]
        type = "forensic"
        cmd = "echo {{.failed_task}} {{.error_message}}"
        """.replace("\n        ", "\n")
    )
    assert unset_variable_warnings(dag) == []


# --- register names two nodes share ----------------------------------------------------------


def test_a_matrix_task_with_a_constant_register_is_an_error(errors_of: Errors) -> None:
    assert errors_of(task('matrix = { r = ["eu", "us"] }\nregister = "size"')) == [
        'task "a": register "size" would be set by each of its 2 matrix expansions, and a '
        'variable has one owner (put a matrix key in the name, e.g. register = "size_{{.r}}")'
    ]


@pytest.mark.parametrize(
    "body",
    [
        'matrix = { r = ["eu", "us"] }\nregister = "size_{{.r}}"',
        'matrix = { r = ["eu"] }\nregister = "size"',
        'matrix = { r = ["eu", "us"] }\nregister = "size"\nif = \'r == "eu"\'',
    ],
)
def test_registers_that_differ_or_cannot_collide_are_fine(
    dag_of: Callable[..., DAG], body: str
) -> None:
    assert dag_of(task(body)).total_tasks >= 1


def test_two_unconditional_tasks_with_one_register_name_is_an_error(errors_of: Errors) -> None:
    text = task('register = "v"', "a") + task('register = "v"', "b")
    assert errors_of(text) == [
        'task "b": register "v" is also set by task "a", and a variable has one owner '
        "(use another name, or an if so that only one of them runs)"
    ]


def test_either_or_registers_behind_conditions_are_fine(dag_of: Callable[..., DAG]) -> None:
    text = task('register = "v"\nif = \'env == "prod"\'', "a") + task(
        'register = "v"\nif = \'env != "prod"\'', "b"
    )
    assert dag_of(text).total_tasks == 2


# --- one-to-one matrix pairing -----------------------------------------------------------------

PAIRED = """
[tasks.fetch]
cmd = "echo {{.region}}"
matrix = { region = ["eu", "us"] }

[tasks.load]
cmd = "echo {{.region}}"
matrix = { region = ["eu", "us"] }
depends_on = ["fetch[region={{.region}}]"]
"""


def test_a_selector_with_the_dependents_own_value_pairs_expansions(
    dag_of: Callable[..., DAG],
) -> None:
    dag = dag_of(PAIRED)
    assert dag.nodes["load[region=eu]"].dependencies == ["fetch[region=eu]"]
    assert dag.nodes["load[region=us]"].dependencies == ["fetch[region=us]"]
    assert dag.nodes["fetch[region=eu]"].dependents == ["load[region=eu]"]
    assert dag.levels == [
        ["fetch[region=eu]", "fetch[region=us]"],
        ["load[region=eu]", "load[region=us]"],
    ]


def test_pairing_mixes_with_plain_references_and_extra_keys(dag_of: Callable[..., DAG]) -> None:
    text = PAIRED.replace(
        'matrix = { region = ["eu", "us"] }\ndepends_on',
        'matrix = { region = ["eu", "us"], n = [1, 2] }\ndepends_on',
    ).replace('["fetch[region={{.region}}]"]', '["setup", "fetch[region={{.region}}]"]')
    dag = dag_of(text + task("", "setup"))
    assert dag.nodes["load[n=2,region=us]"].dependencies == ["setup", "fetch[region=us]"]


@pytest.mark.parametrize(
    ("reference", "problem"),
    [
        (
            "fetch[region={{.zone}}]",
            "fetch[region={{.zone}}] ({{.zone}} is not a matrix key of task load; its keys: "
            "region)",
        ),
        (
            "{{.region}}[region=eu]",
            "{{.region}}[region=eu] ({{.key}} may only appear in a [key=value] selector)",
        ),
    ],
)
def test_a_pairing_placeholder_must_name_a_matrix_key(
    errors_of: Errors, reference: str, problem: str
) -> None:
    text = PAIRED.replace("fetch[region={{.region}}]", reference)
    assert errors_of(text) == [f"dependency resolution failed: task load depends on {problem}"]


def test_a_paired_value_without_a_match_is_reported_once(errors_of: Errors) -> None:
    text = PAIRED.replace(
        'region = ["eu", "us"] }\ndepends_on', 'region = ["eu", "ap"] }\ndepends_on'
    )
    assert errors_of(text) == [
        "dependency resolution failed: task load depends on undefined task fetch[region=ap] "
        "(no expansion of fetch matches)"
    ]


# --- cron schedules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "schedule",
    ["0 7 * * 1", "*/15 0-6,22-23 * * *", "30 5 1,15 JAN-jun sun", "@daily", "0 0 * * 7"],
)
def test_valid_cron_schedules(schedule: str) -> None:
    assert cron_problem(schedule) == ""


@pytest.mark.parametrize(
    ("schedule", "problem"),
    [
        ("* * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 3"),
        ("60 * * * *", "minute field '60': 60 is out of range 0-59"),
        ("0 7 * * mon-fri/0", "day of week field 'mon-fri/0': step '0' must be a positive integer"),
        ("0 7 0 * *", "day of month field '0': 0 is out of range 1-31"),
        ("0 x * * *", "hour field 'x': 'x' is not a number"),
        ("0 7 * 5-2 *", "month field '5-2': range '5-2' runs backwards"),
        (
            "@sometimes",
            "unknown macro '@sometimes' (known: @yearly, @annually, @monthly, "
            "@weekly, @daily, @midnight, @hourly)",
        ),
    ],
)
def test_invalid_cron_schedules(schedule: str, problem: str) -> None:
    assert cron_problem(schedule) == problem


def test_an_invalid_cron_schedule_is_a_validation_error(errors_of: Errors) -> None:
    text = '[[triggers]]\ntype = "cron"\nconfig = { schedule = "0 25 * * *" }\n' + task()
    assert errors_of(text) == [
        'trigger 1 (cron): config key "schedule" is not a valid cron expression: '
        "hour field '25': 25 is out of range 0-23"
    ]
