"""Fixtures for store tests: a fresh Store in a temporary directory, and row factories."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from wf.storage import Run, RunStatus, Store, TaskExecution, TaskStatus


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "wf" / "wf.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    with Store(db_path) as s:
        yield s


@pytest.fixture
def new_run(store: Store) -> Callable[..., Run]:
    """Insert a run (running, workflow 'demo' unless given) and return it as re-read."""

    def make(**fields: Any) -> Run:
        fields.setdefault("workflow_name", "demo")
        fields.setdefault("workflow_file", "/w/demo.toml")
        fields.setdefault("status", RunStatus.RUNNING)
        return store.get_run(store.create_run(Run(**fields)))

    return make


@pytest.fixture
def new_task(store: Store) -> Callable[..., TaskExecution]:
    """Insert an attempt row (state running unless given) and return it."""

    def make(run_id: str, task_id: str = "a", **fields: Any) -> TaskExecution:
        fields.setdefault("state", TaskStatus.RUNNING)
        te = TaskExecution(
            run_id=run_id, task_id=task_id, task_name=task_id, command=f"echo {task_id}", **fields
        )
        store.create_task_execution(te)
        return te

    return make
