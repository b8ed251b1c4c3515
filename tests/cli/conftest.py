"""Helpers for the command-line tests: writing workflows and finding the runs they made."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from cli_samples import WriteWorkflow, wf_command


@pytest.fixture
def workflows_dir(wf_home: Path) -> Path:
    """<WF_HOME>/workflows, created."""
    path = wf_home / "workflows"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def write_workflow(workflows_dir: Path) -> WriteWorkflow:
    """Write dedented TOML to <workflows>/<name>.toml and return its path."""

    def write(name: str, text: str) -> Path:
        path = workflows_dir / f"{name}.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def runs_json(wf: Callable[..., Any]) -> Callable[..., dict[str, Any]]:
    """``wf runs --json -l 0`` (plus ARGS), parsed."""

    def read(*args: str) -> dict[str, Any]:
        code, out, err = wf("runs", "--json", "-l", "0", *args)
        assert code == 0, err
        data: dict[str, Any] = json.loads(out)
        return data

    return read


@pytest.fixture
def last_run_id(runs_json: Callable[..., dict[str, Any]]) -> Callable[[], str]:
    """The ID of the newest run."""

    def newest() -> str:
        run_id: str = runs_json()["runs"][0]["id"]
        return run_id

    return newest


@pytest.fixture
def wf_process() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed ``wf`` in a subprocess with the test's environment (tmp WF_HOME)."""

    def run(args: Sequence[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*wf_command(), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(os.environ),
            check=False,
        )

    return run
