"""Tokenizer and parser of the `if` language: grammar, syntax rules and error positions.

See docs/variables.md#conditions-if.
"""

from __future__ import annotations

import pytest

from wf.contextmap import ConditionError, ContextMapError, condition_names, parse_condition
from wf.contextmap.condition import MAX_DEPTH, And, Compare, Literal, Not, Or, Var


def syntax_error(expr: str) -> ConditionError:
    with pytest.raises(ConditionError) as info:
        parse_condition(expr)
    return info.value


@pytest.mark.parametrize(
    "expr",
    [
        "x == 1",
        "x==1",
        "  x   !=   'a'  ",
        "1 < x",
        'x <= "b" && y >= 2',
        "x > 1 || y < 2",
        "!(x == 1)",
        "!!x == 1",
        "((x == 1))",
        "deploy[env=prod].status == 'ok'",
        "task-a.result == true",
        "flag == false",
        "_private == 1",
        "x == .5",
        "x == -1",
        "x == +1.5e-3",
        "x == 2E10",
        "a == b",
        "x\t==\n1",
        "x == 'it\\'s'",
        'x == "a\\\\b"',
        'x == "say \\"hi\\""',
        'x == "{{.y}}"',
        "x == 'a = b'",
        "x == ''",
    ],
)
def test_valid_expressions_parse(expr: str) -> None:
    assert parse_condition(expr).expr == expr


def test_error_message_format_and_attributes() -> None:
    error = syntax_error("x = 1")
    assert str(error) == 'invalid condition "x = 1": use == to compare at position 3'
    assert (error.expr, error.reason, error.position) == ("x = 1", "use == to compare", 3)
    assert isinstance(error, ContextMapError)


@pytest.mark.parametrize(
    ("expr", "reason", "position"),
    [
        ("x = 1", "use == to compare", 3),
        ("x == 1 && y = 2", "use == to compare", 13),
        ("{{.x}} == 1", "write the variable name directly; interpolation is not used in if", 1),
        ("x == {{.y}}", "write the variable name directly; interpolation is not used in if", 6),
        ("a < b < c", "comparisons do not chain", 7),
        ("a == 1 == true", "comparisons do not chain", 8),
        ("enabled", 'bare variable "enabled"', 1),
        ("x == 1 && enabled", 'bare variable "enabled"', 11),
        ("!enabled", 'bare variable "enabled"', 2),
        ("(enabled) == true", 'bare variable "enabled"', 2),
        ('"a" == "b"', "at least one side of a comparison must be a variable", 1),
        ("1 < 2", "at least one side of a comparison must be a variable", 1),
        ("x == 1 || true == false", "at least one side", 11),
        ("true", "expected a comparison operator after 'true'", 5),
        ("x == 'abc", "unterminated string", 6),
        ('x == "abc\\', "unterminated string", 6),
        ("x == 'a\\nb'", "invalid escape \\n", 8),
        ("x == 'a\\\"b'", 'invalid escape \\"', 8),
        ("(x == 1", "unclosed (", 1),
        ("(x == 1 y == 2)", "expected ) before 'y'", 9),
        ("x == 1)", "unmatched )", 7),
        ("x == 1 y == 2", "expected && or || before 'y'", 8),
        ("x == 1 (y == 2)", "expected && or || before '('", 8),
        ("", "empty condition", 1),
        ("   ", "empty condition", 1),
        ("x == 1 & y == 2", "use && for a logical and", 8),
        ("x == 1 | y == 2", "use || for a logical or", 8),
        ("x == $y", "unexpected character '$'", 6),
        ("x == 1 && ", "unexpected end of condition", 11),
        ("== x", "expected a variable or a value, found '=='", 1),
        ("x ==", "unexpected end of condition", 5),
        ("()", "expected a variable or a value, found ')'", 2),
        ("x == 1 &&& y == 2", "use && for a logical and", 10),
        ("x == 1.", "invalid number '1.'", 6),
        ("x == 1e", "invalid number '1e'", 6),
        ("1abc == x", "invalid number '1abc'", 1),
        ("x == -", "unexpected character '-'", 6),
        ("+x == 1", "unexpected character '+'", 1),
        ("a[b == 1", "unclosed [ in identifier", 2),
        ("a[b c] == 1", "unclosed [ in identifier", 2),
        ("x == 1 {", "unexpected character '{'", 8),
        ("x ! 1", 'bare variable "x"', 1),
        ("a]b == 1", "unexpected character ']'", 2),
    ],
)
def test_syntax_errors_give_reason_and_one_based_position(
    expr: str, reason: str, position: int
) -> None:
    error = syntax_error(expr)
    assert reason in error.reason
    assert error.position == position
    assert str(error) == f'invalid condition "{expr}": {error.reason} at position {position}'


def test_bare_variable_hint_shows_a_comparison() -> None:
    assert "enabled == true" in syntax_error("enabled").reason


def test_deep_nesting_is_a_syntax_error_not_a_recursion_error() -> None:
    expr = "(" * (MAX_DEPTH + 1) + "x == 1" + ")" * (MAX_DEPTH + 1)
    assert "nested deeper" in syntax_error(expr).reason
    ok = "(" * MAX_DEPTH + "x == 1" + ")" * MAX_DEPTH
    parse_condition(ok)


def test_long_negation_runs_do_not_recurse() -> None:
    assert isinstance(parse_condition("!" * 10001 + "x == 1").root, Not)
    assert isinstance(parse_condition("!" * 10000 + "x == 1").root, Compare)


def test_long_flat_chains_parse() -> None:
    expr = " && ".join(f"v{i} == {i}" for i in range(5000))
    root = parse_condition(expr).root
    assert isinstance(root, And)
    assert len(root.items) == 5000


def test_not_applies_to_the_next_primary() -> None:
    assert parse_condition('!x == "a"').root == Not(Compare("==", Var("x"), Literal("a")))


def test_and_binds_tighter_than_or() -> None:
    root = parse_condition("a == 1 || b == 2 && c == 3").root
    assert root == Or(
        (
            Compare("==", Var("a"), Literal("1")),
            And((Compare("==", Var("b"), Literal("2")), Compare("==", Var("c"), Literal("3")))),
        )
    )


def test_parentheses_override_precedence() -> None:
    root = parse_condition("(a == 1 || b == 2) && c == 3").root
    assert isinstance(root, And)
    assert isinstance(root.items[0], Or)


def test_whitespace_is_insignificant() -> None:
    compact = parse_condition("!(x==1)&&y!='b'||z>=-2").root
    spaced = parse_condition("  ! ( x == 1 )  &&  y != 'b'  ||  z >= -2 ").root
    assert compact == spaced


def test_bracket_groups_are_part_of_one_identifier() -> None:
    root = parse_condition("deploy[env=prod,region=eu].status == 'ok'").root
    assert root == Compare("==", Var("deploy[env=prod,region=eu].status"), Literal("ok"))


def test_true_and_false_are_keywords_but_longer_words_are_identifiers() -> None:
    assert parse_condition("x == true").root == Compare("==", Var("x"), Literal("true"))
    assert parse_condition("x == trueish").root == Compare("==", Var("x"), Var("trueish"))
    assert parse_condition("x == true.x").root == Compare("==", Var("x"), Var("true.x"))


def test_strings_keep_only_the_allowed_escapes() -> None:
    root = parse_condition(r"x == 'it\'s \\ x'").root
    assert root == Compare("==", Var("x"), Literal("it's \\ x"))
    root = parse_condition(r'x == "q\"q"').root
    assert root == Compare("==", Var("x"), Literal('q"q'))


def test_quoted_literals_can_hold_operators_and_braces() -> None:
    root = parse_condition("x == '{{.y}} && == ('").root
    assert root == Compare("==", Var("x"), Literal("{{.y}} && == ("))


def test_numbers_keep_their_written_text() -> None:
    assert parse_condition("x == +1.50e+03").root == Compare("==", Var("x"), Literal("+1.50e+03"))


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
def test_every_comparison_operator_parses(op: str) -> None:
    assert parse_condition(f"x {op} 1").root == Compare(op, Var("x"), Literal("1"))


def test_condition_names_lists_every_identifier() -> None:
    expr = "a == 1 || (b.c != d && !e[k=v].f < 'lit') || a == true"
    assert condition_names(expr) == {"a", "b.c", "d", "e[k=v].f"}
    assert parse_condition(expr).names == ("a", "b.c", "d", "e[k=v].f")


def test_condition_names_raises_on_syntax_errors() -> None:
    with pytest.raises(ConditionError):
        condition_names("a = 1")


def test_parsed_conditions_are_cached() -> None:
    assert parse_condition("cached == 1") is parse_condition("cached == 1")
