"""Evaluation of `if` conditions: lookup, undefined names, numeric vs string comparison.

See docs/variables.md#conditions-if.
"""

from __future__ import annotations

import pytest

from wf.contextmap import ConditionError, ContextMap, UndefinedVariableError, render_value


def make(**values: str | float) -> ContextMap:
    ctx = ContextMap()
    for name, value in values.items():
        ctx.set("t", name, value)
    return ctx


def test_string_equality_with_a_variable() -> None:
    ctx = make(status="ok")
    assert ctx.eval_condition('status == "ok"')
    assert ctx.eval_condition("status == 'ok'")
    assert not ctx.eval_condition('status != "ok"')


def test_bools_compare_with_the_keywords_and_their_text() -> None:
    ctx = make(enabled=True, disabled=False)
    assert ctx.eval_condition("enabled == true")
    assert ctx.eval_condition('enabled == "true"')
    assert ctx.eval_condition("disabled == false")
    assert not ctx.eval_condition("enabled == false")


def test_quoting_does_not_force_string_comparison() -> None:
    ctx = make(rows="42")
    assert ctx.eval_condition('rows < "100"')
    assert ctx.eval_condition("rows < 100")


def test_non_numbers_compare_lexicographically_by_code_point() -> None:
    ctx = make(word="apple", upper="Zebra")
    assert ctx.eval_condition('word < "banana"')
    assert ctx.eval_condition('upper < "apple"')  # 'Z' (90) < 'a' (97)
    assert ctx.eval_condition('word < "applesauce"')
    assert not ctx.eval_condition('word < "100"')


def test_a_number_against_a_non_number_compares_as_strings() -> None:
    ctx = make(v="9")
    assert ctx.eval_condition('v > "10x"')  # "9" > "10x" by code point


@pytest.mark.parametrize(
    ("value", "expr"),
    [
        ("10", "v > 9"),
        ("10", "v == 10.0"),
        ("1e3", "v == 1000"),
        (" 42 ", "v == 42"),
        ("+5", "v == 5"),
        ("-0", "v == 0"),
        (".5", "v == 0.5"),
        ("0.1", "v < 0.2"),
        ("-3", "v < -2"),
        ("007", "v == 7"),
    ],
)
def test_numeric_texts_compare_as_numbers(value: str, expr: str) -> None:
    assert make(v=value).eval_condition(expr)


def test_whitespace_is_trimmed_only_for_the_numeric_check() -> None:
    ctx = make(padded=" ok ")
    assert not ctx.eval_condition('padded == "ok"')
    assert ctx.eval_condition('padded == " ok "')


def test_integer_comparison_is_exact_beyond_float_precision() -> None:
    ctx = make(big=2**63 + 1)
    assert ctx.eval_condition("big > 9223372036854775808")
    assert ctx.eval_condition("big == 9223372036854775809")
    assert not ctx.eval_condition("big == 9223372036854775808")


def test_integers_with_thousands_of_digits_compare_exactly() -> None:
    huge = 10**5000
    ctx = make(huge=huge + 1)
    assert ctx.eval_condition(f"huge > {render_value(huge)}")
    assert ctx.eval_condition(f"huge != {render_value(huge)}")
    assert ctx.eval_condition(f"huge == {render_value(huge + 1)}")


def test_floats_use_floating_point() -> None:
    ctx = make(f=0.1)
    assert ctx.eval_condition("f == 0.10000000000000001")
    assert ctx.eval_condition("f < 1e-0")


def test_float_variables_compare_by_their_rendered_text() -> None:
    ctx = make(tiny=1e-05, half=0.5)
    assert ctx.eval_condition('tiny == "1e-05"')
    assert ctx.eval_condition("half >= 0.5")


def test_two_variables_can_be_compared() -> None:
    ctx = make(a="3", b="20", s="x")
    assert ctx.eval_condition("a < b")
    assert ctx.eval_condition("s > b")


def test_not_and_or_combine() -> None:
    ctx = make(a="1", b="2")
    assert ctx.eval_condition("a == 1 && b == 2")
    assert not ctx.eval_condition("a == 1 && b == 3")
    assert ctx.eval_condition("a == 9 || b == 2")
    assert ctx.eval_condition('!a == "9"')
    assert not ctx.eval_condition("!(a == 1 || b == 9)")
    assert ctx.eval_condition("a == 1 || b == 9 && a == 9")  # && binds tighter
    assert not ctx.eval_condition("(a == 1 || b == 9) && a == 9")


def test_undefined_identifier_fails_with_its_name() -> None:
    with pytest.raises(UndefinedVariableError) as info:
        make().eval_condition("missing == 1")
    assert info.value.name == "missing"
    assert str(info.value) == 'undefined variable "missing" in condition'


@pytest.mark.parametrize(
    "expr",
    [
        "a == 1 || missing == 1",
        "a == 2 && missing == 1",
        "a == 1 || (a == 1 && missing == 1)",
        "!(a == 1) && missing == 2",
    ],
)
def test_undefined_identifier_fails_even_when_short_circuit_would_skip_it(expr: str) -> None:
    with pytest.raises(UndefinedVariableError, match='"missing" in condition'):
        make(a="1").eval_condition(expr)


def test_syntax_errors_surface_as_condition_error() -> None:
    with pytest.raises(ConditionError, match="use == to compare"):
        make(a="1").eval_condition("a = 1")


def test_short_alias_resolves_in_conditions_and_wins_over_globals() -> None:
    ctx = ContextMap()
    ctx.set("__runtime__", "env", "staging")
    ctx.set_matrix("deploy[env=prod]", {"env": "prod"})
    assert ctx.eval_condition('env == "prod"', task_id="deploy[env=prod]")
    assert ctx.eval_condition('env == "staging"', task_id="build")
    assert ctx.eval_condition('env == "staging"')
    assert ctx.eval_condition('deploy[env=prod].env == "prod"')


def test_literals_are_compared_by_their_text() -> None:
    ctx = make(s="true", n="1.50")
    assert ctx.eval_condition("s == true")
    assert ctx.eval_condition("n == 1.5")
    assert not ctx.eval_condition("n == '1.5x'")


def test_string_literal_escapes_are_unescaped_before_comparison() -> None:
    ctx = make(q="it's", b="a\\b")
    assert ctx.eval_condition(r"q == 'it\'s'")
    assert ctx.eval_condition(r'b == "a\\b"')


def test_overflowing_exponents_do_not_raise() -> None:
    ctx = make(v="1e999")
    assert ctx.eval_condition("v > 1e308")
    assert ctx.eval_condition("v >= 1e-99999")


def test_non_finite_floats_compare_as_strings() -> None:
    ctx = make(nan=float("nan"), inf=float("inf"))
    assert ctx.eval_condition('nan == "nan"')
    assert ctx.eval_condition('inf == "inf"')
