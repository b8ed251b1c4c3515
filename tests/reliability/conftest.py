"""Fixtures of the reliability suite (the project conftest gives a tmp WF_HOME and cwd)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from reliability_helpers import Outcome, RunFlow


@pytest.fixture
def run_flow(wf: Callable[..., Any], workdir: Path) -> RunFlow:
    """Write TOML to ``<cwd>/<name>.toml``, ``wf run`` it in-process, return rows and output."""

    def run(text: str, *args: str, name: str = "flow") -> Outcome:
        path = workdir / f"{name}.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        code, out, err = wf("run", str(path), "--plain", *args)
        assert "Traceback" not in out + err, out + err
        listed = wf("runs", "--json", "-l", "1")
        run_id = json.loads(listed.out)["runs"][0]["id"]
        shown = wf("inspect", run_id, "--json")
        payload = json.loads(shown.out)
        variables = {v["name"]: v["value"] for v in payload["variables"]}
        return Outcome(code, out, err, payload["run"], payload["tasks"], variables)

    return run
