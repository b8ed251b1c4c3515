"""Helpers for the wf.dag tests: load TOML text and return its errors, warnings or DAG."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wf.dag import DAG, WorkflowError, build_dag, parse_workflow_text


def _errors(text: str, name: str = "flow") -> list[str]:
    with pytest.raises(WorkflowError) as caught:
        build_dag(parse_workflow_text(text, name=name))
    return caught.value.errors


def _warnings(text: str, name: str = "flow") -> list[str]:
    return parse_workflow_text(text, name=name).warnings


def _dag(text: str, name: str = "flow") -> DAG:
    return build_dag(parse_workflow_text(text, name=name))


@pytest.fixture
def errors_of() -> Callable[..., list[str]]:
    """TOML text -> the errors of the WorkflowError it must raise."""
    return _errors


@pytest.fixture
def warnings_of() -> Callable[..., list[str]]:
    """TOML text of a valid workflow -> its warnings."""
    return _warnings


@pytest.fixture
def dag_of() -> Callable[..., DAG]:
    """TOML text of a valid workflow -> its built DAG."""
    return _dag
