"""Fixtures for the run-inspection commands: real runs of tiny workflows, and snapshots.

The project-wide conftest gives every test a tmp WF_HOME, a tmp cwd, NO_COLOR and the ``wf``
fixture (in-process CLI). Here: write workflows, run them through ``wf run``, open the store.
"""

from __future__ import annotations

import os
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from wf.config import load_config
from wf.storage import Store

SNAPSHOTS = Path(__file__).parent / "snapshots"

#: A run with a registered variable, a WF_OUTPUT variable, a failing task and a global trap.
FLOW = """\
    name = "flow"
    tags = ["nightly"]
    on_failure = "trap"

    [tasks.fetch]
    cmd = "echo fetched; echo 'greeting=hello' >> \\"$WF_OUTPUT\\""
    register = "payload"

    [tasks.build]
    cmd = "exit 3"
    depends_on = ["fetch"]

    [tasks.trap]
    type = "forensic"
    cmd = "echo trapped"
    """


@pytest.fixture(autouse=True)
def _utc() -> Iterator[None]:
    """Local time is UTC, so rendered times are stable."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()


@pytest.fixture
def workflows_dir(wf_home: Path) -> Path:
    path = wf_home / "workflows"
    path.mkdir(parents=True, exist_ok=True)
    return path


WriteWorkflow = Callable[..., Path]


@pytest.fixture
def write_workflow(workflows_dir: Path) -> WriteWorkflow:
    """Write dedented TOML to ``<workflows>/<name>.toml`` and return its path."""

    def write(text: str, name: str = "flow") -> Path:
        path = workflows_dir / f"{name}.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def store(wf_home: Path) -> Iterator[Store]:
    """The configured database (the CLI opens its own connection to the same file)."""
    with Store(load_config().database_path) as s:
        yield s


RunWorkflow = Callable[..., str]


@pytest.fixture
def run_workflow(wf: Callable[..., Any], store: Store) -> RunWorkflow:
    """Run a workflow file with ``wf run`` and return the new run's full ID."""

    def run(path: Path, *, expect: int | None = None) -> str:
        before = {r.id for r in store.list_runs()}
        result = wf("run", str(path))
        if expect is not None:
            assert result.code == expect, result.err
        (new,) = [r.id for r in store.list_runs() if r.id not in before]
        return new

    return run


@pytest.fixture
def flow_run(write_workflow: WriteWorkflow, run_workflow: RunWorkflow) -> str:
    """The ID of one finished (failed) run of FLOW."""
    return run_workflow(write_workflow(FLOW), expect=1)


@pytest.fixture
def snapshot() -> Callable[[str, str], None]:
    """Compare text with ``snapshots/<name>``; ``WF_UPDATE_SNAPSHOTS=1`` rewrites the file."""

    def check(name: str, text: str) -> None:
        path = SNAPSHOTS / name
        if os.environ.get("WF_UPDATE_SNAPSHOTS") == "1":
            path.parent.mkdir(exist_ok=True)
            path.write_text(text + "\n", encoding="utf-8")
        assert path.exists(), f"missing snapshot {path}; run with WF_UPDATE_SNAPSHOTS=1"
        assert text + "\n" == path.read_text(encoding="utf-8")

    return check
