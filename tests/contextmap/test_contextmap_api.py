"""The public surface of wf.contextmap: names in docs/api.md, constants and the error hierarchy."""

from __future__ import annotations

import pickle

import pytest

import wf.contextmap as contextmap
from wf.contextmap import (
    FORENSIC_OWNER,
    GLOBAL_FORENSIC_OWNER,
    RESERVED_NAMES,
    RESERVED_OWNERS,
    RUNTIME_OWNER,
    ConditionError,
    ContextMapError,
    InvalidVariableError,
    OwnershipError,
    ReadOnlyError,
    UndefinedVariableError,
)
from wf.errors import WfError

DOCUMENTED_NAMES = {
    "Variable",
    "Mutation",
    "ContextMap",
    "parse_condition",
    "referenced_names",
    "ContextMapError",
    "OwnershipError",
    "ReadOnlyError",
    "UndefinedVariableError",
    "ConditionError",
    "InvalidVariableError",
    "RUNTIME_OWNER",
    "FORENSIC_OWNER",
    "GLOBAL_FORENSIC_OWNER",
    "RESERVED_NAMES",
}


def test_every_spec_name_is_exported() -> None:
    assert set(contextmap.__all__) >= DOCUMENTED_NAMES | {"render_value", "condition_names"}
    for name in contextmap.__all__:
        assert hasattr(contextmap, name)


def test_reserved_constants_have_the_spec_values() -> None:
    assert RUNTIME_OWNER == "__runtime__"
    assert FORENSIC_OWNER == "__forensic__"
    assert GLOBAL_FORENSIC_OWNER == "__global_forensic__"
    assert sorted(RESERVED_OWNERS) == ["__forensic__", "__global_forensic__", "__runtime__"]
    assert sorted(RESERVED_NAMES) == ["error_message", "failed_dag", "failed_task"]
    assert isinstance(RESERVED_NAMES, frozenset)


@pytest.mark.parametrize(
    "error_type",
    [OwnershipError, ReadOnlyError, UndefinedVariableError, ConditionError, InvalidVariableError],
)
def test_every_error_derives_from_context_map_error_and_wf_error(error_type: type) -> None:
    assert issubclass(error_type, ContextMapError)
    assert issubclass(error_type, WfError)


def test_invalid_variable_error_is_also_a_value_error() -> None:
    assert issubclass(InvalidVariableError, ValueError)


def test_errors_with_attributes_survive_pickling() -> None:
    undefined = pickle.loads(pickle.dumps(UndefinedVariableError("x", "condition")))
    assert (undefined.name, str(undefined)) == ("x", 'undefined variable "x" in condition')
    condition = pickle.loads(pickle.dumps(ConditionError("a = 1", "use == to compare", 3)))
    assert (condition.position, condition.reason, condition.expr) == (
        3,
        "use == to compare",
        "a = 1",
    )
    assert str(condition) == 'invalid condition "a = 1": use == to compare at position 3'


def test_undefined_variable_error_without_context() -> None:
    error = UndefinedVariableError("name")
    assert str(error) == 'undefined variable "name"'
    assert error.context is None
