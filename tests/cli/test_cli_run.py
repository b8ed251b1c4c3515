"""``wf run`` — dry runs, flag checks, real runs, results and failures (docs/cli.md#wf-run)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_samples import DIAMOND, FAILING, WriteWorkflow

from wf.storage import Store

Wf = Callable[..., tuple[int, str, str]]

WITH_TRAP = """\
    on_failure = "page"

    [tasks.a]
    cmd = "true"

    [tasks.page]
    type = "forensic"
    cmd = "true"
"""


@pytest.fixture
def diamond(write_workflow: WriteWorkflow) -> Path:
    return write_workflow("diamond", DIAMOND)


@pytest.mark.usefixtures("diamond")
class TestDryRun:
    def test_plan_text_for_a_diamond_with_a_condition(self, wf: Wf, wf_home: Path) -> None:
        code, out, err = wf("run", "diamond", "--dry-run")
        assert code == 0, err
        assert out.splitlines() == [
            "=== EXECUTION PLAN ===",
            "Workflow: diamond",
            "Mode: sequential (max_parallel 1)",
            "Total Tasks: 4",
            "Execution Levels: 3",
            "Level 0 (1 task):",
            "  - a",
            "Level 1 (2 tasks):",
            "  - b [PARALLEL]",
            '    Condition: x == "a"',
            "  - c [PARALLEL]",
            "Level 2 (1 task):",
            "  - d",
            "No tasks were executed.",
        ]

    def test_dry_run_opens_no_database(self, wf: Wf, wf_home: Path) -> None:
        assert wf("run", "diamond", "--dry-run")[0] == 0
        assert not (wf_home / "wf.db").exists()
        assert not (wf_home / "logs").exists()

    @pytest.mark.parametrize(
        ("flags", "mode_line"),
        [
            (["--parallel"], "Mode: parallel (max_parallel 4)"),
            (["--work-stealing", "--max-parallel", "3"], "Mode: work_stealing (max_parallel 3)"),
            (["-j", "2"], "Mode: work_stealing (max_parallel 2)"),
            (["--jobs", "5", "--work-stealing"], "Mode: work_stealing (max_parallel 5)"),
            (["--sequential", "--max-parallel", "7"], "Mode: sequential (max_parallel 1)"),
        ],
    )
    def test_mode_flags_show_in_the_plan(self, wf: Wf, flags: list[str], mode_line: str) -> None:
        code, out, err = wf("run", "diamond", "--dry-run", *flags)
        assert code == 0, err
        assert mode_line in out.splitlines()

    def test_plan_json_alone_on_stdout(self, wf: Wf, diamond: Path) -> None:
        code, out, err = wf("run", "diamond", "--dry-run", "--json")
        assert code == 0
        assert "No tasks were executed." in err
        plan = json.loads(out)
        assert plan["workflow_name"] == "diamond"
        assert plan["file"] == str(diamond)
        assert plan["total_tasks"] == 4
        assert plan["execution_mode"] == "sequential"
        assert plan["max_parallel"] == 1
        assert plan["global_trap"] is None
        assert plan["forensic_tasks"] == []
        assert [level["level"] for level in plan["levels"]] == [0, 1, 2]
        b = plan["levels"][1]["tasks"][0]
        assert b == {
            "id": "b",
            "name": "b",
            "can_run_in_parallel": True,
            "depends_on": ["a"],
            "condition": 'x == "a"',
            "pools": {},
        }
        assert plan["levels"][0]["tasks"][0]["condition"] is None

    def test_plan_json_names_the_global_trap(self, wf: Wf, write_workflow: WriteWorkflow) -> None:
        write_workflow("trapped", WITH_TRAP)
        code, out, _ = wf("run", "trapped", "--dry-run", "--json")
        assert code == 0
        plan = json.loads(out)
        assert plan["global_trap"] == "page"
        assert plan["forensic_tasks"] == ["page"]
        assert plan["total_tasks"] == 1

    def test_workflow_warnings_go_to_stderr(self, wf: Wf, write_workflow: WriteWorkflow) -> None:
        write_workflow("warned", '[tasks.a]\ncmd = "true"\nretry_delay = "1s"\n')
        code, out, err = wf("run", "warned", "--dry-run")
        assert code == 0
        assert "warning: " in err
        assert "retry_delay" in err
        assert "warning" not in out

    def test_dry_run_by_path_with_toml_suffix(self, wf: Wf, workdir: Path) -> None:
        (workdir / "local.toml").write_text('[tasks.x]\ncmd = "true"\n', encoding="utf-8")
        code, out, _ = wf("run", "local.toml", "--dry-run")
        assert code == 0
        assert "Workflow: local" in out

    def test_name_with_toml_suffix_is_looked_up_by_name(self, wf: Wf) -> None:
        code, out, _ = wf("run", "diamond.toml", "--dry-run")
        assert code == 0
        assert "Workflow: diamond" in out


class TestRefusals:
    def test_missing_workflow_is_a_command_error(self, wf: Wf, workflows_dir: Path) -> None:
        code, out, err = wf("run", "nothere")
        assert code == 1
        expected = f"workflow not found: nothere (looked for {workflows_dir / 'nothere.toml'})"
        assert err.splitlines() == [f"Error: {expected}"]
        assert out == ""

    def test_missing_file_by_path_is_a_command_error(self, wf: Wf, workflows_dir: Path) -> None:
        code, _, err = wf("run", "gone.toml")
        assert code == 1
        assert "workflow not found: gone.toml" in err

    def test_invalid_workflow_lists_every_error(
        self, wf: Wf, write_workflow: WriteWorkflow, wf_home: Path
    ) -> None:
        write_workflow(
            "broken",
            '[tasks.a]\ncmd = ""\n[tasks.b]\ncmd = "true"\ndepends_on = ["nope"]\ncolour = 1\n',
        )
        code, out, err = wf("run", "broken")
        assert code == 2
        lines = err.splitlines()
        assert lines[0] == "Error: workflow 'broken' is invalid (3 errors)"
        assert len(lines) == 4
        assert all(line.startswith("  - ") for line in lines[1:])
        assert out == ""
        assert not (wf_home / "wf.db").exists()

    @pytest.mark.parametrize(
        "flags",
        [
            ["--sequential", "--parallel"],
            ["--parallel", "--work-stealing"],
            ["--sequential", "--work-stealing"],
            ["--sequential", "--parallel", "--work-stealing"],
        ],
    )
    def test_mode_flags_are_mutually_exclusive(
        self, wf: Wf, diamond: Path, flags: list[str]
    ) -> None:
        code, _, err = wf("run", "diamond", "--dry-run", *flags)
        assert code == 2
        assert "mutually exclusive" in err
        assert "Run 'wf run --help' for usage." in err

    @pytest.mark.parametrize(
        ("flags", "conflict"),
        [
            (["-j", "2", "--sequential"], "--sequential"),
            (["-j", "2", "--parallel"], "--parallel"),
            (["-j", "2", "--max-parallel", "3"], "--max-parallel"),
            (["--jobs", "2", "--max-parallel", "2"], "--max-parallel"),
        ],
    )
    def test_jobs_conflicts(self, wf: Wf, diamond: Path, flags: list[str], conflict: str) -> None:
        code, _, err = wf("run", "diamond", "--dry-run", *flags)
        assert code == 2
        assert "conflicts with" in err
        assert conflict in err

    @pytest.mark.parametrize(
        "flags", [["-j", "0"], ["--max-parallel", "0"], ["--max-parallel", "-2"], ["-j", "x"]]
    )
    def test_concurrency_must_be_positive(self, wf: Wf, diamond: Path, flags: list[str]) -> None:
        code, _, err = wf("run", "diamond", "--dry-run", *flags)
        assert code == 2
        assert "Error:" in err

    @pytest.mark.parametrize("value", ["soon", "-1s", "1x", "5 s"])
    def test_bad_timeout_is_a_usage_error(self, wf: Wf, diamond: Path, value: str) -> None:
        code, _, err = wf("run", "diamond", "--timeout", value)
        assert code == 2
        assert "invalid --timeout" in err
        assert "Traceback" not in err


# ------------------------------------------------------------------------------ real runs


def test_successful_run_prints_plain_progress_and_the_result(
    wf: Wf, diamond: Path, last_run_id: Callable[[], str]
) -> None:
    code, out, err = wf("run", "diamond")
    assert code == 0, err
    run_id = last_run_id()
    lines = out.splitlines()
    assert lines[0] == (f"▶ run {run_id[:8]} started  workflow=diamond mode=sequential tasks=4")
    for task in "abcd":
        assert any(re.fullmatch(rf"→ {task} {{24}}\d\d:\d\d:\d\d", line) for line in lines), task
        assert any(line.startswith(f"✓ {task.ljust(24)} ") for line in lines), task
    assert f"■ done run {run_id[:8]} SUCCESS" in lines
    result = out.split("=== EXECUTION RESULT ===\n", 1)[1].splitlines()
    assert result[0] == f"Run ID:   {run_id}"
    assert result[1] == "Workflow: diamond"
    assert result[2] == "Status:   ✓ SUCCESS"
    assert re.fullmatch(r"Duration: \d+\.\ds", result[3])
    assert result[4] == "Tasks:    4 total  4✓  0✗  0⊘"
    assert err == ""


def test_skipped_task_is_reported(wf: Wf, write_workflow: WriteWorkflow) -> None:
    write_workflow("cond", DIAMOND.replace("""x == "a\"""", """x == "zzz\""""))
    code, out, _ = wf("run", "cond")
    assert code == 0
    assert any(
        line.startswith("⊘ skipped b") and "condition false" in line for line in out.splitlines()
    )
    assert "Tasks:    4 total  3✓  0✗  1⊘" in out


def test_failed_run_prints_the_failure_summary_and_exits_1(
    wf: Wf, write_workflow: WriteWorkflow, last_run_id: Callable[[], str], wf_home: Path
) -> None:
    write_workflow("failing", FAILING)
    code, out, err = wf("run", "failing")
    assert code == 1
    run_id = last_run_id()
    assert f"■ done run {run_id[:8]} FAILED" in out
    assert any(line.startswith("✗ failed Build site") for line in out.splitlines())
    assert "Status:   ✗ FAILED" in out
    assert "Tasks:    3 total  1✓  1✗  0⊘  (1 not started)" in out
    summary = out.split("Tasks:    ", 1)[1]
    assert "Root cause: build (Build site) — exit code 3 (1 attempt)" in summary
    assert "Error:      exit status 3" in summary
    log = wf_home / "logs" / run_id / "build" / "attempt_1.log"
    assert f"Log:        {log}" in summary
    assert "  | compiling" in summary
    assert "  | boom" in summary
    assert "Not started: publish" in summary
    assert f"Resume with: wf resume {run_id[:8]}" in summary
    assert err.strip() == (
        f"Error: run {run_id[:8]} failed: task build failed after 1 attempt(s): exit status 3"
    )


def test_early_failure_says_it_failed_before_start(wf: Wf, write_workflow: WriteWorkflow) -> None:
    write_workflow("early", '[tasks.a]\ncmd = "echo {{.undefined_thing}}"\n')
    code, out, _ = wf("run", "early")
    assert code == 1
    assert (
        "Root cause: a — failed before start: interpolation failed in cmd: undefined variable "
        '"undefined_thing" (1 attempt)'
    ) in out
    assert "exit code -" not in out
    assert 'undefined variable "undefined_thing"' in out


def test_retries_are_shown(wf: Wf, write_workflow: WriteWorkflow) -> None:
    write_workflow("flaky", '[tasks.a]\ncmd = "exit 1"\nretries = 1\n')
    code, out, err = wf("run", "flaky")
    assert code == 1
    assert any(line.startswith("↻ retrying a") and "attempt 2" in line for line in out.splitlines())
    assert "after 2 attempt(s)" in err


def test_json_result_shape(
    wf: Wf, write_workflow: WriteWorkflow, last_run_id: Callable[[], str]
) -> None:
    write_workflow("failing", FAILING)
    code, out, err = wf("run", "failing", "--json")
    assert code == 1
    data: dict[str, Any] = json.loads(out)  # stdout holds only the JSON document
    assert set(data) == {"run", "tasks"}
    run = data["run"]
    assert run["id"] == last_run_id()
    assert run["status"] == "failed"
    assert run["workflow_name"] == "failing"
    assert run["failed_task"] == "build"
    assert run["error"] == "task build failed after 1 attempt(s): exit status 3"
    for key in (
        "workflow_file",
        "start_time",
        "end_time",
        "duration_ms",
        "execution_mode",
        "max_parallel",
        "tags",
        "owner_pid",
        "heartbeat_at",
        "created_at",
    ):
        assert key in run
    tasks = {t["task_id"]: t for t in data["tasks"]}
    assert set(tasks) == {"prepare", "build"}
    assert tasks["build"]["state"] == "failed"
    assert tasks["build"]["exit_code"] == 3
    assert tasks["prepare"]["state"] == "success"
    assert "▶" not in out
    assert "Error: run" in err


def test_json_success_exits_0(wf: Wf, diamond: Path) -> None:
    code, out, err = wf("run", "diamond", "--json", "-j", "2")
    assert code == 0, err
    data = json.loads(out)
    assert data["run"]["status"] == "success"
    assert data["run"]["execution_mode"] == "work_stealing"
    assert data["run"]["max_parallel"] == 2
    assert len(data["tasks"]) == 4


def test_timeout_cancels_the_run_and_exits_1(
    wf: Wf, write_workflow: WriteWorkflow, runs_json: Callable[..., dict[str, Any]]
) -> None:
    write_workflow("slow", '[tasks.nap]\ncmd = "sleep 5"\nkill_grace = "1s"\n')
    code, out, err = wf("run", "slow", "--timeout", "0.3s")
    assert code == 1
    assert "cancelled: run timed out" in err
    assert err.startswith("Error: run ")
    assert "Status:   ⊗ CANCELLED" in out
    assert "⊗ cancelled nap" in out
    assert "Resume with: wf resume" in out
    (run,) = runs_json()["runs"]
    assert run["status"] == "cancelled"
    assert run["error"].startswith("cancelled: run timed out after 300ms")


def test_print_output_prints_task_output_blocks(wf: Wf, write_workflow: WriteWorkflow) -> None:
    write_workflow("talk", '[tasks.hi]\ncmd = "echo hello there"\n')
    code, out, _ = wf("run", "talk", "--print-output")
    assert code == 0
    assert "hi output:\n  hello there\n" in out


def test_var_reaches_the_task(
    wf: Wf, write_workflow: WriteWorkflow, last_run_id: Callable[[], str]
) -> None:
    write_workflow("greet", '[tasks.hi]\ncmd = "echo hello $WHO"\nenv = { WHO = "{{.who}}" }\n')
    code, _, err = wf("run", "greet", "--var", "who=a=b c")
    assert code == 0, err
    _, out, _ = wf("logs", last_run_id(), "hi")
    assert "[Attempt 1] hello a=b c" in out


def test_run_records_tags_and_the_absolute_workflow_file(
    wf: Wf, diamond: Path, wf_home: Path, last_run_id: Callable[[], str]
) -> None:
    assert wf("run", "diamond")[0] == 0
    with Store(wf_home / "wf.db") as store:
        run = store.get_run(last_run_id())
    assert run.workflow_file == str(diamond)
    assert run.tags == ["nightly", "etl"]


def test_default_executor_and_max_parallel_come_from_the_config(
    wf: Wf, diamond: Path, wf_home: Path
) -> None:
    (wf_home / "config.toml").write_text(
        'default_executor = "parallel"\nmax_parallel = 3\n', encoding="utf-8"
    )
    code, out, _ = wf("run", "diamond", "--json")
    assert code == 0
    run = json.loads(out)["run"]
    assert (run["execution_mode"], run["max_parallel"]) == ("parallel", 3)
