"""Every shipped example (docs/index.md#example-gallery) validates, runs offline and cleans up.

The runs use the project-wide hermetic fixture (tmp WF_HOME, tmp cwd) plus a private TMPDIR,
so a test can check that an example leaves no scratch files behind.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wf.dag import parse_workflow
from wf.validation import validate_workflow

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.toml"))
IDS = [path.stem for path in EXAMPLES]

Wf = Callable[..., tuple[int, str, str]]


def test_the_gallery_is_not_empty() -> None:
    assert len(EXAMPLES) >= 6, "the example gallery (docs/index.md) has at least six examples"


def test_examples_together_use_the_features_the_spec_names() -> None:
    """Between them the examples use register, WF_OUTPUT, conditions, matrix, retries and traps."""
    definitions = [parse_workflow(path) for path in EXAMPLES]
    tasks = [task for definition in definitions for task in definition.tasks.values()]
    used = {
        "register": any(task.register for task in tasks),
        "WF_OUTPUT": any("WF_OUTPUT" in task.cmd for task in tasks),
        "if": any(task.condition for task in tasks),
        "matrix": any(task.matrix for task in tasks),
        "retries": any(task.retries for task in tasks),
        "traps": any(task.type == "forensic" for task in tasks),
        "global trap": any(definition.on_failure for definition in definitions),
        "task trap": any(task.on_failure for task in tasks),
    }
    assert all(used.values()), {feature for feature, ok in used.items() if not ok}


@pytest.mark.parametrize("path", EXAMPLES, ids=IDS)
def test_example_validates_without_errors_or_warnings(path: Path) -> None:
    result = validate_workflow(path)
    assert result.valid, result.errors
    assert result.errors == []
    # Examples are what users copy: keep them free of warnings too.
    assert result.warnings == []
    assert result.name == path.stem, "the workflow name should match the file name"


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private, empty TMPDIR that the tasks inherit."""
    path = tmp_path / "tmpdir"
    path.mkdir()
    monkeypatch.setenv("TMPDIR", str(path))
    return path


def _latest_run(wf: Wf) -> dict[str, Any]:
    code, out, err = wf("runs", "--json", "-l", "1")
    assert code == 0, err
    run: dict[str, Any] = json.loads(out)["runs"][0]
    return run


@pytest.mark.slow
@pytest.mark.parametrize("mode", [["--sequential"], ["-j", "4"]], ids=["sequential", "j4"])
@pytest.mark.parametrize("path", EXAMPLES, ids=IDS)
def test_example_runs_to_success_and_cleans_up(
    path: Path, mode: list[str], wf: Wf, scratch: Path, workdir: Path
) -> None:
    code, out, err = wf("run", str(path), "--plain", *mode)
    assert code == 0, f"{out}\n{err}"
    assert "✓ SUCCESS" in out
    run = _latest_run(wf)
    assert run["status"] == "success"
    assert run["workflow"] == path.stem
    assert run["error"] is None
    # Scratch files live in ${TMPDIR:-/tmp}/wf-<name>-$WF_RUN_ID (or ./ for working_dir
    # examples) and are removed by the example's last task.
    assert sorted(p.name for p in scratch.iterdir()) == []
    assert sorted(p.name for p in workdir.iterdir()) == []
