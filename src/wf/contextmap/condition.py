"""The ``if`` language: tokenizer, recursive-descent parser and evaluator.

The language is described in docs/variables.md#conditions-if. Nothing here ever calls
``eval``. Parsing is pure and cached; evaluation takes a resolver that maps an identifier to
its rendered text (or None when it is undefined).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from functools import lru_cache

from wf.contextmap.errors import ConditionError, UndefinedVariableError

__all__ = [
    "And",
    "Compare",
    "Condition",
    "Literal",
    "Not",
    "Or",
    "Var",
    "condition_names",
    "evaluate_condition",
    "parse_condition",
]

NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INT_RE = re.compile(r"[+-]?[0-9]+")

# Parentheses nest at most this deep, so hostile input cannot exhaust the Python stack.
MAX_DEPTH = 100

_IDENT_START = frozenset(string.ascii_letters + "_")
_IDENT_CHARS = frozenset(string.ascii_letters + string.digits + "_.-")
_BRACKET_CHARS = _IDENT_CHARS | {"=", ","}
# A number glued to one of these is a malformed token (`1abc`, `1.`, `2e`), not two tokens.
_NUMBER_TAIL = frozenset(string.ascii_letters + string.digits + "_.[")

_INTERPOLATION_HINT = "write the variable name directly; interpolation is not used in if"


class _Kind(Enum):
    LPAREN = "("
    RPAREN = ")"
    NOT = "!"
    AND = "&&"
    OR = "||"
    OP = "operator"
    IDENT = "identifier"
    STRING = "string"
    NUMBER = "number"
    TRUE = "true"
    FALSE = "false"
    END = "end"


_OPERAND_KINDS = frozenset({_Kind.IDENT, _Kind.STRING, _Kind.NUMBER, _Kind.TRUE, _Kind.FALSE})


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Kind
    value: str  # identifier name, unescaped string, number as written, or operator
    pos: int  # 0-based offset of the first character
    raw: str  # source text of the token


# --- AST ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Var:
    """An identifier operand: a variable name, resolved at evaluation time."""

    name: str


@dataclass(frozen=True, slots=True)
class Literal:
    """A string, number or keyword operand; ``text`` is its comparison text."""

    text: str


Operand = Var | Literal


@dataclass(frozen=True, slots=True)
class Compare:
    """``left OP right``."""

    op: str
    left: Operand
    right: Operand


@dataclass(frozen=True, slots=True)
class Not:
    """``!operand``."""

    operand: Expr


@dataclass(frozen=True, slots=True)
class And:
    """``a && b && …``, two or more items."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """``a || b || …``, two or more items."""

    items: tuple[Expr, ...]


Expr = Compare | Not | And | Or


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed condition: its source, AST root and identifiers in order of first appearance."""

    expr: str
    root: Expr
    names: tuple[str, ...]


# --- Tokenizer ---------------------------------------------------------------------------------


def _tokenize(expr: str) -> Iterator[_Token]:
    n = len(expr)
    i = 0

    def fail(reason: str, pos: int) -> ConditionError:
        return ConditionError(expr, reason, pos + 1)

    while i < n:
        ch = expr[i]
        if ch.isspace():
            i += 1
            continue
        nxt = expr[i + 1] if i + 1 < n else ""
        if ch == "(":
            yield _Token(_Kind.LPAREN, ch, i, ch)
            i += 1
        elif ch == ")":
            yield _Token(_Kind.RPAREN, ch, i, ch)
            i += 1
        elif ch == "{" and nxt == "{":
            raise fail(_INTERPOLATION_HINT, i)
        elif ch == "=":
            if nxt != "=":
                raise fail("use == to compare", i)
            yield _Token(_Kind.OP, "==", i, "==")
            i += 2
        elif ch == "!":
            if nxt == "=":
                yield _Token(_Kind.OP, "!=", i, "!=")
                i += 2
            else:
                yield _Token(_Kind.NOT, "!", i, "!")
                i += 1
        elif ch in "<>":
            op = ch + "=" if nxt == "=" else ch
            yield _Token(_Kind.OP, op, i, op)
            i += len(op)
        elif ch == "&":
            if nxt != "&":
                raise fail("use && for a logical and", i)
            yield _Token(_Kind.AND, "&&", i, "&&")
            i += 2
        elif ch == "|":
            if nxt != "|":
                raise fail("use || for a logical or", i)
            yield _Token(_Kind.OR, "||", i, "||")
            i += 2
        elif ch in "\"'":
            token = _read_string(expr, i, fail)
            yield token
            i += len(token.raw)
        elif ch in _IDENT_START:
            token = _read_ident(expr, i, fail)
            yield token
            i += len(token.raw)
        elif ch in "+-." or ch in string.digits:
            match = NUMBER_RE.match(expr, i)
            if match is None:
                raise fail(f"unexpected character {ch!r}", i)
            end = match.end()
            if end < n and expr[end] in _NUMBER_TAIL:
                while end < n and expr[end] in _NUMBER_TAIL:
                    end += 1
                raise fail(f"invalid number {expr[i:end]!r}", i)
            yield _Token(_Kind.NUMBER, match.group(), i, match.group())
            i = end
        else:
            raise fail(f"unexpected character {ch!r}", i)
    yield _Token(_Kind.END, "", n, "")


def _read_string(expr: str, start: int, fail: Callable[[str, int], ConditionError]) -> _Token:
    quote = expr[start]
    n = len(expr)
    chars: list[str] = []
    j = start + 1
    while True:
        if j >= n:
            raise fail("unterminated string", start)
        c = expr[j]
        if c == quote:
            j += 1
            break
        if c == "\\":
            if j + 1 >= n:
                raise fail("unterminated string", start)
            escaped = expr[j + 1]
            if escaped not in (quote, "\\"):
                allowed = f"\\\\ and \\{quote}"
                raise fail(f"invalid escape \\{escaped} in string (only {allowed} are allowed)", j)
            chars.append(escaped)
            j += 2
            continue
        chars.append(c)
        j += 1
    return _Token(_Kind.STRING, "".join(chars), start, expr[start:j])


def _read_ident(expr: str, start: int, fail: Callable[[str, int], ConditionError]) -> _Token:
    n = len(expr)
    j = start + 1
    while j < n:
        c = expr[j]
        if c in _IDENT_CHARS:
            j += 1
        elif c == "[":
            close = j + 1
            while close < n and expr[close] in _BRACKET_CHARS:
                close += 1
            if close >= n or expr[close] != "]":
                raise fail("unclosed [ in identifier", j)
            j = close + 1
        else:
            break
    name = expr[start:j]
    kind = {"true": _Kind.TRUE, "false": _Kind.FALSE}.get(name, _Kind.IDENT)
    return _Token(kind, name, start, name)


# --- Parser ------------------------------------------------------------------------------------


def _describe(token: _Token) -> str:
    if token.kind is _Kind.END:
        return "end of condition"
    raw = token.raw if len(token.raw) <= 30 else token.raw[:27] + "..."
    return repr(raw)


class _Parser:
    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.tokens = list(_tokenize(expr))
        self.index = 0
        self.depth = 0
        self.names: dict[str, None] = {}  # ordered set

    def fail(self, reason: str, pos: int) -> ConditionError:
        return ConditionError(self.expr, reason, pos + 1)

    @property
    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind is not _Kind.END:
            self.index += 1
        return token

    def parse(self) -> Condition:
        if self.peek.kind is _Kind.END:
            raise self.fail("empty condition", 0)
        root = self.parse_or()
        token = self.peek
        if token.kind is not _Kind.END:
            if token.kind is _Kind.RPAREN:
                raise self.fail("unmatched )", token.pos)
            if token.kind in _OPERAND_KINDS or token.kind in (_Kind.LPAREN, _Kind.NOT):
                raise self.fail(f"expected && or || before {_describe(token)}", token.pos)
            raise self.fail(f"unexpected {_describe(token)}", token.pos)
        return Condition(self.expr, root, tuple(self.names))

    def parse_or(self) -> Expr:
        items = [self.parse_and()]
        while self.peek.kind is _Kind.OR:
            self.advance()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> Expr:
        items = [self.parse_unary()]
        while self.peek.kind is _Kind.AND:
            self.advance()
            items.append(self.parse_unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_unary(self) -> Expr:
        # Iterative, so a long run of `!` cannot exhaust the stack; `!!x` is `x`.
        negations = 0
        while self.peek.kind is _Kind.NOT:
            self.advance()
            negations += 1
        node = self.parse_primary()
        return Not(node) if negations % 2 else node

    def parse_primary(self) -> Expr:
        token = self.peek
        if token.kind is not _Kind.LPAREN:
            return self.parse_comparison()
        self.advance()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"parentheses nested deeper than {MAX_DEPTH}", token.pos)
        node = self.parse_or()
        closing = self.peek
        if closing.kind is not _Kind.RPAREN:
            if closing.kind is _Kind.END:
                raise self.fail("unclosed (", token.pos)
            raise self.fail(f"expected ) before {_describe(closing)}", closing.pos)
        self.advance()
        self.depth -= 1
        return node

    def parse_operand(self) -> tuple[Operand, _Token]:
        token = self.peek
        if token.kind not in _OPERAND_KINDS:
            if token.kind is _Kind.END:
                raise self.fail("unexpected end of condition, expected a comparison", token.pos)
            raise self.fail(f"expected a variable or a value, found {_describe(token)}", token.pos)
        self.advance()
        if token.kind is _Kind.IDENT:
            self.names.setdefault(token.value, None)
            return Var(token.value), token
        return Literal(token.value), token

    def parse_comparison(self) -> Compare:
        left, left_token = self.parse_operand()
        op = self.peek
        if op.kind is not _Kind.OP:
            if isinstance(left, Var):
                reason = (
                    f'bare variable "{left.name}" is not a condition; '
                    f"compare it, e.g. {left.name} == true"
                )
                raise self.fail(reason, left_token.pos)
            raise self.fail(f"expected a comparison operator after {_describe(left_token)}", op.pos)
        self.advance()
        right, _ = self.parse_operand()
        if isinstance(left, Literal) and isinstance(right, Literal):
            raise self.fail("at least one side of a comparison must be a variable", left_token.pos)
        chained = self.peek
        if chained.kind is _Kind.OP:
            raise self.fail("comparisons do not chain; combine them with && or ||", chained.pos)
        return Compare(op.value, left, right)


@lru_cache(maxsize=2048)
def parse_condition(expr: str) -> Condition:
    """Parse EXPR (syntax only; no variable is looked up) and return its AST.

    Raises ConditionError with the reason and the 1-based position of the problem. Results are
    cached, because the same ``if`` is evaluated for every node and on every resume.
    """
    return _Parser(expr).parse()


def condition_names(expr: str) -> set[str]:
    """Return the identifiers (variable names) EXPR references; raises ConditionError."""
    return set(parse_condition(expr).names)


# --- Evaluation --------------------------------------------------------------------------------


def _order(left: str, right: str) -> int:
    """Three-way compare two operand texts: numerically if both are numbers, else by code point."""
    a, b = left.strip(), right.strip()
    if NUMBER_RE.fullmatch(a) and NUMBER_RE.fullmatch(b):
        if _INT_RE.fullmatch(a) and _INT_RE.fullmatch(b):
            # Decimal compares integers exactly, with no digit limit (unlike int(str)).
            da, db = Decimal(a), Decimal(b)
            return (da > db) - (da < db)
        fa, fb = float(a), float(b)
        return (fa > fb) - (fa < fb)
    return (left > right) - (left < right)


def _compare(op: str, left: str, right: str) -> bool:
    order = _order(left, right)
    if op == "==":
        return order == 0
    if op == "!=":
        return order != 0
    if op == "<":
        return order < 0
    if op == "<=":
        return order <= 0
    if op == ">":
        return order > 0
    return order >= 0


def _evaluate(node: Expr, texts: dict[str, str]) -> bool:
    if isinstance(node, Compare):
        left = texts[node.left.name] if isinstance(node.left, Var) else node.left.text
        right = texts[node.right.name] if isinstance(node.right, Var) else node.right.text
        return _compare(node.op, left, right)
    if isinstance(node, Not):
        return not _evaluate(node.operand, texts)
    if isinstance(node, And):
        return all(_evaluate(item, texts) for item in node.items)
    return any(_evaluate(item, texts) for item in node.items)


def evaluate_condition(condition: Condition, resolve: Callable[[str], str | None]) -> bool:
    """Evaluate a parsed condition; RESOLVE maps a name to its rendered text, or None.

    Every identifier is resolved before anything is compared, so an undefined name fails the
    evaluation even where short-circuiting would have skipped it.
    """
    texts: dict[str, str] = {}
    for name in condition.names:
        text = resolve(name)
        if text is None:
            raise UndefinedVariableError(name, "condition")
        texts[name] = text
    return _evaluate(condition.root, texts)
