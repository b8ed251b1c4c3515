"""``wf resume RUN_ID`` after fixing a workflow, and its refusals (docs/cli.md#wf-resume)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_samples import FAILING, WriteWorkflow

Wf = Callable[..., tuple[int, str, str]]


@pytest.fixture
def failed_run(wf: Wf, write_workflow: WriteWorkflow) -> tuple[str, Path]:
    """A run of FAILING that failed at 'build'; returns its ID and the workflow file."""
    path = write_workflow("failing", FAILING)
    code, out, _ = wf("run", "failing", "--json")
    assert code == 1
    run_id: str = json.loads(out)["run"]["id"]
    return run_id, path


def fix(path: Path) -> None:
    path.write_text(
        path.read_text(encoding="utf-8").replace("exit 3", "echo fixed"), encoding="utf-8"
    )


def test_resume_after_fixing_the_workflow_succeeds_and_reuses_unchanged_tasks(
    wf: Wf, failed_run: tuple[str, Path], runs_json: Callable[..., dict[str, Any]]
) -> None:
    run_id, path = failed_run
    fix(path)
    code, out, err = wf("resume", run_id[:8])
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"↻ resuming run {run_id[:8]} (resume #1, sequential)"
    assert any(
        line.startswith("= reused prepare") and "unchanged since run" in line for line in lines
    )
    assert any(
        line.startswith("→ Build site") and "(failed in previous run)" in line for line in lines
    )
    assert any(line.startswith("→ publish") and "(not run before)" in line for line in lines)
    assert f"■ done run {run_id[:8]} SUCCESS" in lines
    assert "Status:   ✓ SUCCESS" in out
    assert "Tasks:    3 total  3✓  0✗  0⊘" in out
    (run,) = runs_json()["runs"]
    assert run["id"] == run_id
    assert run["status"] == "success"
    assert run["resume_count"] == 1


def test_resume_that_fails_again_exits_1_with_the_summary(
    wf: Wf, failed_run: tuple[str, Path]
) -> None:
    run_id, _ = failed_run
    code, out, err = wf("resume", run_id)
    assert code == 1
    assert "(resume #1, sequential)" in out
    assert "Root cause: build (Build site) — exit code 3 (" in out
    assert f"Resume with: wf resume {run_id[:8]}" in out
    assert f"Error: run {run_id[:8]} failed:" in err


def test_resume_json_prints_only_the_result(wf: Wf, failed_run: tuple[str, Path]) -> None:
    run_id, path = failed_run
    fix(path)
    code, out, _ = wf("resume", run_id, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["run"]["id"] == run_id
    assert data["run"]["status"] == "success"
    assert {t["task_id"]: t["state"] for t in data["tasks"]} == {
        "prepare": "success",
        "build": "success",
        "publish": "success",
    }


def test_resume_can_switch_the_mode(wf: Wf, failed_run: tuple[str, Path]) -> None:
    run_id, path = failed_run
    fix(path)
    code, out, _ = wf("resume", run_id, "-j", "2")
    assert code == 0
    assert "(resume #1, work_stealing)" in out


def test_successful_run_is_not_resumable(
    wf: Wf, failed_run: tuple[str, Path], runs_json: Callable[..., dict[str, Any]]
) -> None:
    run_id, path = failed_run
    fix(path)
    assert wf("resume", run_id)[0] == 0
    code, out, err = wf("resume", run_id)
    assert code == 1
    assert f"run {run_id} is not resumable (status: success)" in err
    assert "resuming" not in out


def test_unknown_run_exits_1(wf: Wf) -> None:
    code, _, err = wf("resume", "nosuchrun")
    assert code == 1
    assert "Error: run not found: nosuchrun" in err


def test_invalid_workflow_aborts_the_resume_with_exit_2(
    wf: Wf, failed_run: tuple[str, Path], runs_json: Callable[..., dict[str, Any]]
) -> None:
    run_id, path = failed_run
    path.write_text('[tasks.a]\ncmd = "true"\ndepends_on = ["a"]\n', encoding="utf-8")
    code, _, err = wf("resume", run_id)
    assert code == 2
    assert "is invalid (1 error)" in err
    assert "circular dependency detected" in err
    (run,) = runs_json()["runs"]
    assert (run["status"], run["resume_count"]) == ("failed", 0)


@pytest.mark.parametrize("flag", ["--from", "--only", "--rerun"])
def test_unknown_selection_task_is_a_usage_error(
    wf: Wf, failed_run: tuple[str, Path], flag: str
) -> None:
    run_id, _ = failed_run
    code, _, err = wf("resume", run_id, flag, "nope")
    assert code == 2
    assert f"unknown task nope in {flag}" in err


def test_only_with_an_unfinished_dependency_is_refused(
    wf: Wf, failed_run: tuple[str, Path], runs_json: Callable[..., dict[str, Any]]
) -> None:
    run_id, _ = failed_run
    code, _, err = wf("resume", run_id, "--only", "publish")
    assert code != 0
    assert "cannot resume with --only: dependency build of publish has not succeeded" in err
    (run,) = runs_json()["runs"]
    assert (run["status"], run["resume_count"]) == ("failed", 0)


def test_conflicting_mode_flags_are_a_usage_error(wf: Wf, failed_run: tuple[str, Path]) -> None:
    run_id, _ = failed_run
    code, _, err = wf("resume", run_id, "--parallel", "--work-stealing")
    assert code == 2
    assert "Run 'wf resume --help' for usage." in err
