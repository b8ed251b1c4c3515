"""Validation errors E9–E16: references, paths, env, matrix, traps, cycles.

See docs/workflow-files.md#validation.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

Errors = Callable[..., list[str]]

OK_TASK = '[tasks.a]\ncmd = "true"\n'


# --- E9 dependency resolution ---------------------------------------------------------------


def test_e9_undefined_dependency(errors_of: Errors) -> None:
    assert errors_of('[tasks.a]\ncmd = "true"\ndepends_on = ["ghost"]\n') == [
        "dependency resolution failed: task a depends on undefined task ghost"
    ]


def test_e9_dependency_on_forensic_task(errors_of: Errors) -> None:
    text = '[tasks.a]\ncmd = "true"\ndepends_on = ["f"]\n[tasks.f]\ntype = "forensic"\ncmd = "x"\n'
    assert errors_of(text) == [
        "dependency resolution failed: task a depends on forensic task f "
        "(forensic tasks run only as failure traps)"
    ]


def test_e9_selector_on_task_without_matrix(errors_of: Errors) -> None:
    text = '[tasks.a]\ncmd = "true"\n[tasks.b]\ncmd = "true"\ndepends_on = ["a[k=v]"]\n'
    assert errors_of(text) == [
        "dependency resolution failed: task b depends on undefined task a[k=v] "
        "(task a has no matrix)"
    ]


def test_e9_selector_matching_no_expansion(errors_of: Errors) -> None:
    text = (
        '[tasks.a]\ncmd = "true"\nmatrix = { k = ["x", "y"] }\n'
        '[tasks.b]\ncmd = "true"\ndepends_on = ["a[k=z]"]\n'
    )
    assert errors_of(text) == [
        "dependency resolution failed: task b depends on undefined task a[k=z] "
        "(no expansion of a matches)"
    ]


@pytest.mark.parametrize("reference", ["a[k=x", "a[]", "a[k]", "[k=x]", "a[=x]"])
def test_e9_malformed_selector(errors_of: Errors, reference: str) -> None:
    text = (
        '[tasks.a]\ncmd = "true"\nmatrix = { k = ["x"] }\n'
        f'[tasks.b]\ncmd = "true"\ndepends_on = ["{reference}"]\n'
    )
    assert errors_of(text) == [
        f"dependency resolution failed: task b depends on undefined task {reference}"
    ]


def test_e9_every_bad_reference_is_reported(errors_of: Errors) -> None:
    text = '[tasks.a]\ncmd = "true"\ndepends_on = ["x", "y"]\n'
    assert errors_of(text) == [
        "dependency resolution failed: task a depends on undefined task x",
        "dependency resolution failed: task a depends on undefined task y",
    ]


# --- E10 working directory ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/proc", "/proc/self", "/sys/kernel", "/dev/null", "/dev/../dev"])
def test_e10_forbidden_working_dir(errors_of: Errors, path: str) -> None:
    assert errors_of(f'[tasks.a]\ncmd = "true"\nworking_dir = "{path}"\n') == [
        f'task "a": working directory not allowed: {path} (under /proc, /sys or /dev)'
    ]


def test_e10_literal_part_before_a_placeholder_is_checked(errors_of: Errors) -> None:
    assert errors_of('[tasks.a]\ncmd = "true"\nworking_dir = "/proc/{{.pid}}"\n') == [
        'task "a": working directory not allowed: /proc/ (under /proc, /sys or /dev)'
    ]


def test_e10_working_dir_with_nul_byte(errors_of: Errors) -> None:
    [error] = errors_of('[tasks.a]\ncmd = "true"\nworking_dir = "/tmp/\\u0000x"\n')
    assert "contains a NUL byte" in error


def test_e10_placeholder_paths_are_left_for_run_time(dag_of: Callable[..., object]) -> None:
    dag_of('[tasks.a]\ncmd = "true"\nworking_dir = "/srv/{{.dir}}/proc"\n')
    dag_of('[tasks.a]\ncmd = "true"\nworking_dir = "/dev{{.suffix}}"\n')


# --- E11 env --------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["LD_PRELOAD", "dyld_insert_libraries", "BASH_ENV", "WF_RUN_ID"])
def test_e11_denied_env_keys(errors_of: Errors, key: str) -> None:
    assert errors_of(f'[tasks.a]\ncmd = "true"\nenv = {{ {key} = "x" }}\n') == [
        f"task \"a\": env key '{key}' is not allowed (reserved or dangerous)"
    ]


@pytest.mark.parametrize("key", ["1ABC", "MY-VAR", "MY VAR", "A=B", ""])
def test_e11_malformed_env_keys(errors_of: Errors, key: str) -> None:
    assert errors_of(f'[tasks.a]\ncmd = "true"\nenv = {{ "{key}" = "x" }}\n') == [
        f"task \"a\": invalid env key '{key}': must match ^[A-Za-z_][A-Za-z0-9_]*$"
    ]


def test_e11_env_value_with_nul_byte(errors_of: Errors) -> None:
    assert errors_of('[tasks.a]\ncmd = "true"\nenv = { X = "a\\u0000" }\n') == [
        'task "a": env value "X" contains a NUL byte'
    ]


# --- E12 register ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["failed_task", "failed_dag", "error_message"])
def test_e12_reserved_register_name(errors_of: Errors, name: str) -> None:
    assert errors_of(f'[tasks.a]\ncmd = "true"\nregister = "{name}"\n') == [
        f'task "a": register name "{name}" is reserved'
    ]


@pytest.mark.parametrize("name", ["a b", "x;y", "$(cmd)", "`x`", "v" * 257])
def test_e12_invalid_literal_register_name(errors_of: Errors, name: str) -> None:
    [error] = errors_of(f'[tasks.a]\ncmd = "true"\nregister = "{name}"\n')
    assert error.startswith(f'task "a": key "register": invalid variable name \'{name}\'')


def test_e12_templated_register_name_is_checked_at_run_time(
    dag_of: Callable[..., object],
) -> None:
    dag_of('[tasks.a]\ncmd = "true"\nregister = "out {{.x}}"\n')


# --- E13 matrix -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (
            '{ "a b" = ["x"] }',
            'task "t": invalid matrix key "a b" (allowed: letters, digits, _, -)',
        ),
        ("{ k = [] }", 'task "t": matrix key "k" must be a non-empty array'),
        ('{ k = "x" }', 'task "t": matrix key "k" must be a non-empty array'),
        (
            '{ k = ["a b"] }',
            'task "t": matrix key "k" has invalid value "a b" (allowed: letters, digits, _, ., -)',
        ),
        (
            "{ k = [1e20] }",
            'task "t": matrix key "k" has invalid value "1e+20" '
            "(allowed: letters, digits, _, ., -)",
        ),
        (
            "{ k = [[1]] }",
            'task "t": matrix key "k" has a value of type array (allowed: strings, integers, '
            "floats, booleans)",
        ),
        ('{ k = ["1", 1] }', 'task "t": matrix key "k" has duplicate value "1"'),
    ],
)
def test_e13_invalid_matrix(errors_of: Errors, matrix: str, message: str) -> None:
    assert errors_of(f'[tasks.t]\ncmd = "true"\nmatrix = {matrix}\n') == [message]


def test_e13_matrix_variable_names_longer_than_256_characters(errors_of: Errors) -> None:
    text = f'[tasks.{"t" * 128}]\ncmd = "true"\nmatrix = {{ k = ["{"v" * 130}"] }}\n'
    [error] = errors_of(text)
    assert "matrix variable names would exceed 256 characters" in error


def test_e13_invalid_matrix_does_not_cascade_into_dependency_errors(errors_of: Errors) -> None:
    text = (
        '[tasks.a]\ncmd = "true"\nmatrix = { k = [] }\n'
        '[tasks.b]\ncmd = "true"\ndepends_on = ["a[k=x]", "a"]\n'
    )
    assert errors_of(text) == ['task "a": matrix key "k" must be a non-empty array']


# --- E14 types and traps --------------------------------------------------------------------


def test_e14_unknown_task_type(errors_of: Errors) -> None:
    assert errors_of('[tasks.a]\ncmd = "true"\ntype = "cleanup"\n') == [
        'task "a": type must be "normal" or "forensic", not "cleanup"'
    ]


def test_e14_global_trap_missing(errors_of: Errors) -> None:
    assert errors_of('on_failure = "pager"\n' + OK_TASK) == [
        'global trap attachment failed: task "pager" does not exist'
    ]


def test_e14_global_trap_not_forensic(errors_of: Errors) -> None:
    assert errors_of('on_failure = "a"\n' + OK_TASK) == [
        'global trap attachment failed: task "a" is not forensic (set type = "forensic" on it)'
    ]


def test_e14_task_trap_missing_or_not_forensic(errors_of: Errors) -> None:
    text = (
        '[tasks.a]\ncmd = "true"\non_failure = "ghost"\n[tasks.b]\ncmd = "true"\non_failure = "a"\n'
    )
    assert errors_of(text) == [
        'task "a": on_failure task "ghost" does not exist',
        'task "b": on_failure task "a" is not forensic (set type = "forensic" on it)',
    ]


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('matrix = { k = ["x"] }', "matrix"),
        ('depends_on = ["a"]', "depends_on"),
        ('on_failure = "g"', "on_failure"),
    ],
)
def test_e14_forensic_task_restrictions(errors_of: Errors, line: str, key: str) -> None:
    text = OK_TASK + f'[tasks.f]\ntype = "forensic"\ncmd = "x"\n{line}\n'
    text += '[tasks.g]\ntype = "forensic"\ncmd = "x"\n'
    assert f'task "f": forensic tasks cannot have {key} (they run only as failure traps)' in (
        errors_of(text)
    )


# --- E15 triggers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "key"), [("cron", "schedule"), ("file_watch", "path"), ("webhook", "endpoint")]
)
def test_e15_trigger_missing_required_config(errors_of: Errors, kind: str, key: str) -> None:
    text = f'[[triggers]]\ntype = "{kind}"\nconfig = {{}}\n' + OK_TASK
    assert errors_of(text) == [f'trigger 1 ({kind}): missing required config key "{key}"']


def test_e15_trigger_without_config_table(errors_of: Errors) -> None:
    assert errors_of('[[triggers]]\ntype = "cron"\n' + OK_TASK) == [
        'trigger 1 (cron): missing required config key "schedule"'
    ]


def test_e15_trigger_with_empty_config_value(errors_of: Errors) -> None:
    text = 'triggers = [{ type = "webhook", config = { endpoint = " " } }]\n' + OK_TASK
    assert errors_of(text) == ['trigger 1 (webhook): config key "endpoint" must not be empty']


def test_e15_trigger_shape_errors(errors_of: Errors) -> None:
    text = 'triggers = [1, { config = {} }, { type = 2 }, { type = "cron", config = 3 }]\n'
    assert errors_of(text + OK_TASK) == [
        'trigger 1 must be a table with keys "type" and "config"',
        'trigger 2: missing key "type"',
        'trigger 3: key "type" must be a string',
        'trigger 4: key "config" must be a table',
    ]


# --- E16 cycles -----------------------------------------------------------------------------


def test_e16_two_task_cycle(errors_of: Errors) -> None:
    text = (
        '[tasks.b]\ncmd = "true"\ndepends_on = ["a"]\n[tasks.a]\ncmd = "true"\ndepends_on = ["b"]\n'
    )
    assert errors_of(text) == ["circular dependency detected: a -> b -> a"]


def test_e16_self_dependency(errors_of: Errors) -> None:
    assert errors_of('[tasks.a]\ncmd = "true"\ndepends_on = ["a"]\n') == [
        "circular dependency detected: a -> a"
    ]


def test_e16_cycle_path_is_found_from_the_smallest_node(errors_of: Errors) -> None:
    text = (
        '[tasks.root]\ncmd = "true"\n'
        '[tasks.x]\ncmd = "true"\ndepends_on = ["root", "z"]\n'
        '[tasks.y]\ncmd = "true"\ndepends_on = ["x"]\n'
        '[tasks.z]\ncmd = "true"\ndepends_on = ["y"]\n'
        '[tasks.after]\ncmd = "true"\ndepends_on = ["z"]\n'
    )
    assert errors_of(text) == ["circular dependency detected: x -> y -> z -> x"]


def test_e16_cycle_through_matrix_expansions(errors_of: Errors) -> None:
    text = (
        '[tasks.a]\ncmd = "true"\nmatrix = { k = ["1", "2"] }\ndepends_on = ["b"]\n'
        '[tasks.b]\ncmd = "true"\ndepends_on = ["a[k=2]"]\n'
    )
    assert errors_of(text) == ["circular dependency detected: a[k=2] -> b -> a[k=2]"]


def test_e16_selectors_can_avoid_a_task_level_cycle(dag_of: Callable[..., object]) -> None:
    text = (
        '[tasks.a]\ncmd = "true"\nmatrix = { k = ["1", "2"] }\ndepends_on = ["b"]\n'
        '[tasks.b]\ncmd = "true"\ndepends_on = ["c"]\n'
        '[tasks.c]\ncmd = "true"\n'
        '[tasks.d]\ncmd = "true"\ndepends_on = ["a[k=1]"]\n'
    )
    dag_of(text)
