"""Validation warnings: reported, and the workflow stays valid.

See docs/workflow-files.md#validation.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wf.dag import DAG

Warnings = Callable[..., list[str]]


def task(*lines: str) -> str:
    return "\n".join(["[tasks.a]", 'cmd = "true"', *lines]) + "\n"


def test_name_differing_from_the_file_stem(warnings_of: Warnings) -> None:
    assert warnings_of('name = "release"\n' + task(), name="release-v2") == [
        'workflow name "release" differs from the file name "release-v2"'
    ]


def test_name_equal_to_the_file_stem_is_silent(warnings_of: Warnings) -> None:
    assert warnings_of('name = "flow"\n' + task(), name="flow") == []


def test_more_than_ten_retries(warnings_of: Warnings) -> None:
    assert warnings_of(task("retries = 11")) == ['task "a": retries = 11 is more than 10']
    assert warnings_of(task("retries = 10")) == []


@pytest.mark.parametrize("delay", ['"5s"', "0", "2"])
def test_retry_delay_without_retries(warnings_of: Warnings, delay: str) -> None:
    assert 'task "a": retry_delay is set but retries = 0, so it is never used' in warnings_of(
        task(f"retry_delay = {delay}")
    )


def test_retry_delay_with_retries_is_silent(warnings_of: Warnings) -> None:
    assert warnings_of(task("retries = 2", 'retry_delay = "1s"')) == []


def test_retry_delay_below_100ms(warnings_of: Warnings) -> None:
    assert warnings_of(task("retries = 1", 'retry_delay = "50ms"')) == [
        'task "a": retry_delay 50ms is below 100ms'
    ]
    assert warnings_of(task("retries = 1", 'retry_delay = "100ms"')) == []
    assert warnings_of(task("retries = 1", "retry_delay = 0")) == []


def test_retry_max_delay_below_retry_delay(warnings_of: Warnings) -> None:
    assert warnings_of(task("retries = 3", 'retry_delay = "5s"', 'retry_max_delay = "1s"')) == [
        'task "a": retry_max_delay 1s is less than retry_delay 5s'
    ]


@pytest.mark.parametrize(
    ("timeout", "warning"),
    [
        ('"500ms"', 'task "a": timeout 500ms is below 1s'),
        ('"25h"', 'task "a": timeout 25h is above 24h'),
        ("86401", 'task "a": timeout 24h1s is above 24h'),
    ],
)
def test_timeout_outside_one_second_to_a_day(
    warnings_of: Warnings, timeout: str, warning: str
) -> None:
    assert warnings_of(task(f"timeout = {timeout}")) == [warning]


@pytest.mark.parametrize("timeout", ["0", '"0"', '"1s"', '"24h"'])
def test_timeout_zero_and_the_bounds_are_silent(warnings_of: Warnings, timeout: str) -> None:
    assert warnings_of(task(f"timeout = {timeout}")) == []


def test_relative_working_dir_without_leading_dot(warnings_of: Warnings) -> None:
    assert warnings_of(task('working_dir = "build/out"')) == [
        'task "a": relative working_dir "build/out" does not start with "." '
        "(it is resolved against the current directory of wf)"
    ]


@pytest.mark.parametrize("path", ["./build", "../sibling", "/tmp/x", "{{.dir}}/x", ".hidden"])
def test_working_dirs_that_do_not_warn(warnings_of: Warnings, path: str) -> None:
    assert warnings_of(task(f'working_dir = "{path}"')) == []


def test_more_than_100_matrix_expansions(warnings_of: Warnings) -> None:
    values = ", ".join(str(n) for n in range(11))
    assert warnings_of(task(f"matrix = {{ x = [{values}], y = [{values}] }}")) == [
        'task "a": matrix has 121 expansions (more than 100)'
    ]
    small = ", ".join(str(n) for n in range(10))
    assert warnings_of(task(f"matrix = {{ x = [{small}], y = [{small}] }}")) == []


def test_unknown_trigger_type(warnings_of: Warnings) -> None:
    text = '[[triggers]]\ntype = "email"\nconfig = { to = "x" }\n' + task()
    assert warnings_of(text) == [
        'trigger 1: unknown trigger type "email" (known: cron, file_watch, webhook)'
    ]


def test_valid_condition_is_silent(warnings_of: Warnings) -> None:
    assert warnings_of(task("if = 'broken == 0 && channel != \"dry-run\"'")) == []


def test_warnings_reach_the_built_dag(dag_of: Callable[..., DAG]) -> None:
    dag = dag_of(task("retries = 20"))
    assert dag.warnings == ['task "a": retries = 20 is more than 10']
