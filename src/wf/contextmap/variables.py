"""Variables, their history and the thread-safe ContextMap that enforces ownership.

See docs/variables.md#names-and-ownership.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from wf.contextmap.errors import InvalidVariableError, OwnershipError, ReadOnlyError
from wf.contextmap.placeholders import substitute
from wf.errors import SecurityError
from wf.security import validate_variable_name

__all__ = [
    "Clock",
    "ContextMap",
    "Mutation",
    "VarValue",
    "Variable",
    "VariableType",
    "render_value",
    "utc_now",
]

VarValue = str | int | float | bool
VariableType = Literal["string", "int", "float", "bool"]
Clock = Callable[[], datetime]

_INT_TEXT_RE = re.compile(r"[+-]?[0-9]+")


def utc_now() -> datetime:
    """The default clock: the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def _unsupported(value: object, name: str) -> InvalidVariableError:
    return InvalidVariableError(f"unsupported type {type(value).__name__} for variable {name}")


def _normalize(name: str, value: object) -> tuple[VarValue, VariableType]:
    """Return VALUE as a plain builtin and its type; ``bool`` is checked before ``int``."""
    # Subclasses (enums, numpy-like wrappers of builtins) are reduced to the builtin, so a
    # variable's value always renders, compares and stores like the plain type.
    if isinstance(value, bool):
        return bool(value), "bool"
    if isinstance(value, int):
        return int(value), "int"
    if isinstance(value, float):
        return float(value), "float"
    if isinstance(value, str):
        return str.__str__(value), "string"
    raise _unsupported(value, name)


def render_value(value: VarValue) -> str:
    """Render a value as text (docs/variables.md#interpolation-name): strings verbatim, ints
    in decimal, floats in shortest round-trip form (``0.5``, ``1e-05``), bools as
    ``true``/``false``.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        try:
            return int.__repr__(value)
        except ValueError:  # beyond sys.get_int_max_str_digits(); Decimal has no such limit
            from decimal import Decimal

            return f"{Decimal(value):f}"
    if isinstance(value, float):
        return float.__repr__(value)
    raise InvalidVariableError(f"unsupported type {type(value).__name__}")


def _parse_text(name: str, text: str, type_name: str) -> VarValue:
    if type_name == "string":
        return text
    if type_name == "bool" and text in ("true", "false"):
        return text == "true"
    if type_name == "int" and _INT_TEXT_RE.fullmatch(text):
        from decimal import Decimal  # not int(): no sys.get_int_max_str_digits() limit

        return int(Decimal(text))
    if type_name == "float":
        try:
            return float(text)
        except ValueError:
            pass
    elif type_name not in ("bool", "int"):
        raise InvalidVariableError(f"unsupported type {type_name} for variable {name}")
    raise InvalidVariableError(f"invalid {type_name} value {text!r} for variable {name}")


@dataclass(frozen=True, slots=True)
class Variable:
    """One variable of a run. ``type`` is inferred from ``value``; ``set_at`` is aware UTC."""

    name: str
    value: VarValue
    type: VariableType = field(init=False)
    owner: str
    set_at: datetime
    read_only: bool = False

    def __post_init__(self) -> None:
        value, type_name = _normalize(self.name, self.value)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "type", type_name)
        if self.set_at.tzinfo is None:
            raise InvalidVariableError(f"set_at of variable {self.name} must be timezone-aware")

    @property
    def text(self) -> str:
        """The value rendered as text, as interpolation, conditions and snapshots show it."""
        return render_value(self.value)

    @classmethod
    def from_text(
        cls,
        name: str,
        text: str,
        type_name: str,
        owner: str,
        set_at: datetime,
        read_only: bool = False,
    ) -> Variable:
        """Rebuild a variable from its rendered text and type, e.g. from a snapshot row."""
        return cls(name, _parse_text(name, text, type_name), owner, set_at, read_only)


@dataclass(frozen=True, slots=True)
class Mutation:
    """One successful set: ``old_value`` is None when the name was new."""

    at: datetime
    owner: str
    name: str
    old_value: VarValue | None
    new_value: VarValue


def _check_name(name: str) -> None:
    try:
        validate_variable_name(name)
    except SecurityError as exc:
        raise InvalidVariableError(str(exc)) from exc


def _read_only_error(name: str) -> ReadOnlyError:
    return ReadOnlyError(f'cannot overwrite read-only variable "{name}"')


def _ownership_error(name: str, owner: str) -> OwnershipError:
    return OwnershipError(f'variable "{name}" already set by task "{owner}"')


class ContextMap:
    """A run's variables: one flat namespace, first-setter ownership, safe for concurrent use.

    ``clock`` supplies every ``set_at`` and history time; it defaults to the current UTC time.
    """

    def __init__(self, *, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._vars: dict[str, Variable] = {}
        self._history: list[Mutation] = []

    def __len__(self) -> int:
        with self._lock:
            return len(self._vars)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._vars

    def __repr__(self) -> str:
        return f"<ContextMap with {len(self)} variable(s)>"

    # --- writing -------------------------------------------------------------------------------

    def set(self, owner: str, name: str, value: VarValue) -> Variable:
        """Set NAME to VALUE on behalf of OWNER and return the new variable.

        Raises InvalidVariableError (bad name or type), ReadOnlyError (read-only, whoever asks)
        or OwnershipError (first set by another owner); on error nothing changes.
        """
        _check_name(name)
        value, _ = _normalize(name, value)
        with self._lock:
            existing = self._vars.get(name)
            if existing is not None:
                if existing.read_only:
                    raise _read_only_error(name)
                if existing.owner != owner:
                    raise _ownership_error(name, existing.owner)
            variable = Variable(name, value, owner, self._clock())
            self._store(variable, existing)
        return variable

    def set_matrix(self, owner: str, mapping: Mapping[str, VarValue]) -> list[Variable]:
        """Create read-only ``OWNER.KEY`` variables for a matrix expansion; all or nothing.

        Repeating it with identical values is a no-op; a different value raises ReadOnlyError.
        Returns the variables that were created.
        """
        prepared: list[tuple[str, VarValue, VariableType]] = []
        for key, raw in mapping.items():
            name = f"{owner}.{key}"
            _check_name(name)
            value, type_name = _normalize(name, raw)
            prepared.append((name, value, type_name))
        created: list[Variable] = []
        with self._lock:
            pending: list[tuple[str, VarValue, Variable | None]] = []
            for name, value, type_name in prepared:
                existing = self._vars.get(name)
                if existing is not None:
                    if existing.read_only:
                        same = (
                            existing.owner == owner
                            and existing.type == type_name
                            and existing.text == render_value(value)
                        )
                        if same:
                            continue
                        raise _read_only_error(name)
                    if existing.owner != owner:
                        raise _ownership_error(name, existing.owner)
                pending.append((name, value, existing))
            if pending:
                now = self._clock()
                for name, value, existing in pending:
                    variable = Variable(name, value, owner, now, read_only=True)
                    self._store(variable, existing)
                    created.append(variable)
        return created

    def _store(self, variable: Variable, existing: Variable | None) -> None:
        """Record VARIABLE and its mutation; the caller holds the lock."""
        self._vars[variable.name] = variable
        old_value = existing.value if existing is not None else None
        self._history.append(
            Mutation(variable.set_at, variable.owner, variable.name, old_value, variable.value)
        )

    def restore_variable(self, variable: Variable) -> None:
        """Put VARIABLE back as it was (resume); bypasses every rule and records no mutation."""
        with self._lock:
            self._vars[variable.name] = variable

    # --- reading -------------------------------------------------------------------------------

    def get(self, name: str) -> VarValue:
        """Return the value of NAME; raises KeyError if it is not set."""
        with self._lock:
            return self._vars[name].value

    def lookup(self, name: str, *, task_id: str | None = None) -> Variable | None:
        """Return the variable NAME, or None.

        With TASK_ID, ``<task_id>.NAME`` is tried first, as interpolation and conditions do.
        """
        with self._lock:
            return self._find(name, task_id)

    def _find(self, name: str, task_id: str | None) -> Variable | None:
        if task_id:
            variable = self._vars.get(f"{task_id}.{name}")
            if variable is not None:
                return variable
        return self._vars.get(name)

    def _resolve_text(self, task_id: str | None) -> Callable[[str], str | None]:
        def resolve(name: str) -> str | None:
            variable = self._find(name, task_id)
            if variable is None:
                return None
            value = variable.value
            # Most values are strings; skip the renderer's dispatch for them on the hot path.
            return value if type(value) is str else render_value(value)

        return resolve

    def interpolate(self, template: str, *, task_id: str | None = None) -> str:
        """Substitute ``{{.NAME}}`` in TEMPLATE; raises UndefinedVariableError.

        See docs/variables.md#interpolation-name.
        """
        if "{{." not in template:
            return template
        with self._lock:
            return substitute(template, self._resolve_text(task_id))

    def eval_condition(self, expr: str, *, task_id: str | None = None) -> bool:
        """Evaluate the ``if`` expression EXPR (docs/variables.md#conditions-if).

        Raises ConditionError for a syntax error and UndefinedVariableError
        ('undefined variable "NAME" in condition') when any identifier is not set.
        """
        from wf.contextmap.condition import evaluate_condition, parse_condition

        condition = parse_condition(expr)
        with self._lock:
            return evaluate_condition(condition, self._resolve_text(task_id))

    def snapshot(self) -> list[Variable]:
        """Return every variable, sorted by name (code point order)."""
        with self._lock:
            return sorted(self._vars.values(), key=lambda variable: variable.name)

    def variables(self) -> dict[str, Variable]:
        """Return a copy of the name → variable mapping."""
        with self._lock:
            return dict(self._vars)

    def history(self) -> list[Mutation]:
        """Return a copy of the mutation history, oldest first."""
        with self._lock:
            return list(self._history)
