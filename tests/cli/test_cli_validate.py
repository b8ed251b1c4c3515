"""``wf validate [WORKFLOW] [-j|--json] [--store]`` (docs/cli.md#wf-validate)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_samples import DIAMOND, WriteWorkflow

Wf = Callable[..., tuple[int, str, str]]

WITH_WARNING_AND_TRIGGER = """\
    triggers = [
      { type = "cron", config = { schedule = "0 3 * * *" } },
      { type = "file_watch", config = { path = "/srv/in" } },
    ]

    [tasks.fetch]
    cmd = "true"
    retry_delay = "1s"
"""

INVALID = """\
    [tasks.a]
    cmd = "true"
    env = { LD_PRELOAD = "/x.so" }

    [tasks.b]
    cmd = "true"
    depends_on = ["zz"]
    retrys = 1
"""

JSON_KEYS = {
    "name",
    "file",
    "valid",
    "task_count",
    "execution_levels",
    "execution_order",
    "parallelisable_tasks",
    "errors",
    "warnings",
    "triggers",
    "pools",
    "task_pools",
}


class TestOneWorkflow:
    def test_valid_workflow_prints_pass_levels_and_sections(
        self, wf: Wf, write_workflow: WriteWorkflow
    ) -> None:
        write_workflow("diamond", DIAMOND)
        code, out, err = wf("validate", "diamond")
        assert code == 0, err
        lines = out.splitlines()
        assert lines[:7] == [
            "✓ PASS diamond",
            "Tasks: 4",
            "Parallelisable: 2 tasks",
            "Execution Levels: 3",
            "  Level 0: a",
            "  Level 1: b, c",
            "  Level 2: d",
        ]
        assert "Errors: none" in lines
        assert "Warnings: none" in lines
        assert "Triggers: none (manual execution only)" in lines

    def test_chain_has_no_parallelisable_line(self, wf: Wf, write_workflow: WriteWorkflow) -> None:
        write_workflow("chain", '[tasks.a]\ncmd="true"\n[tasks.b]\ncmd="true"\ndepends_on=["a"]\n')
        code, out, _ = wf("validate", "chain")
        assert code == 0
        assert "Parallelisable" not in out

    def test_warnings_and_triggers_are_listed(self, wf: Wf, write_workflow: WriteWorkflow) -> None:
        write_workflow("warned", WITH_WARNING_AND_TRIGGER)
        code, out, _ = wf("validate", "warned")
        assert code == 0
        assert "✓ PASS warned" in out
        warnings = out.split("Warnings:", 1)[1].split("Triggers:", 1)[0]
        assert "retry_delay" in warnings
        triggers = out.split("Triggers:", 1)[1]
        assert "cron" in triggers
        assert "0 3 * * *" in triggers
        assert "file_watch" in triggers
        assert triggers.count("(not executed by wf)") == 2

    def test_invalid_workflow_prints_fail_every_error_and_exits_2(
        self, wf: Wf, write_workflow: WriteWorkflow
    ) -> None:
        write_workflow("broken", INVALID)
        code, out, err = wf("validate", "broken")
        assert code == 2
        assert out.startswith("✗ FAIL broken\n")
        errors = out.split("Errors:", 1)[1].split("Warnings:", 1)[0]
        assert "LD_PRELOAD" in errors
        assert 'unknown key "retrys" (did you mean "retries"?)' in errors
        assert "depends on undefined task zz" in errors
        assert "Error: validation failed for workflow 'broken'" in err

    def test_toml_syntax_error_reports_line_and_column(
        self, wf: Wf, write_workflow: WriteWorkflow
    ) -> None:
        write_workflow("syntax", '[tasks.a]\ncmd = "true"\nx = \n')
        code, out, _ = wf("validate", "syntax")
        assert code == 2
        assert "TOML syntax error at line 3, column" in out

    def test_validate_by_path(self, wf: Wf, workdir: Path) -> None:
        (workdir / "local.toml").write_text('[tasks.a]\ncmd = "true"\n', encoding="utf-8")
        code, out, _ = wf("validate", "./local.toml")
        assert code == 0
        assert "✓ PASS local" in out

    def test_missing_workflow_says_not_found(self, wf: Wf, workflows_dir: Path) -> None:
        code, out, err = wf("validate", "missing")
        assert code == 1
        assert err.splitlines() == [
            f"Error: workflow not found: missing (looked for {workflows_dir / 'missing.toml'})"
        ]
        assert out == ""

    def test_json_for_one_workflow_is_an_array_of_one(
        self, wf: Wf, write_workflow: WriteWorkflow
    ) -> None:
        path = write_workflow("diamond", DIAMOND)
        code, out, _ = wf("validate", "diamond", "--json")
        assert code == 0
        data = json.loads(out)
        assert isinstance(data, list)
        assert len(data) == 1
        item = data[0]
        assert set(item) == JSON_KEYS
        assert item["name"] == "diamond"
        assert item["file"] == str(path)
        assert item["valid"] is True
        assert item["task_count"] == 4
        assert item["execution_levels"] == [["a"], ["b", "c"], ["d"]]
        assert item["execution_order"] == ["a", "b", "c", "d"]
        assert item["parallelisable_tasks"] == 2
        assert item["errors"] == []
        assert item["triggers"] == []

    def test_json_short_flag_and_invalid_workflow(
        self, wf: Wf, write_workflow: WriteWorkflow
    ) -> None:
        write_workflow("broken", INVALID)
        code, out, _ = wf("validate", "broken", "-j")
        assert code == 2
        (item,) = json.loads(out)
        assert set(item) == JSON_KEYS
        assert item["valid"] is False
        assert len(item["errors"]) == 3


class TestAllWorkflows:
    def test_table_and_summary_when_all_are_valid(
        self, wf: Wf, write_workflow: WriteWorkflow
    ) -> None:
        write_workflow("diamond", DIAMOND)
        write_workflow("warned", WITH_WARNING_AND_TRIGGER)
        code, out, _ = wf("validate")
        assert code == 0
        lines = out.splitlines()
        assert lines[0].split() == ["WORKFLOW", "STATUS", "TASKS", "LEVELS", "ERRORS", "WARNINGS"]
        assert lines[1].split() == ["diamond", "✓", "valid", "4", "3", "0", "0"]
        assert lines[2].split() == ["warned", "✓", "valid", "1", "1", "0", "1"]
        assert "Summary: 2/2 workflows valid" in out

    def test_one_invalid_workflow_fails_the_whole_check(
        self, wf: Wf, write_workflow: WriteWorkflow
    ) -> None:
        write_workflow("diamond", DIAMOND)
        write_workflow("broken", INVALID)
        code, out, err = wf("validate")
        assert code == 2
        rows = {line.split()[0]: line.split() for line in out.splitlines()[1:3]}
        assert rows["broken"][1:3] == ["✗", "invalid"]
        assert rows["broken"][5] == "3"
        assert "Summary: 1/2 workflows valid" in out
        assert "Error: 1 workflow failed validation" in err

    def test_no_workflows(self, wf: Wf, wf_home: Path) -> None:
        code, out, _ = wf("validate")
        assert code == 0
        assert f"No workflows found in {wf_home / 'workflows'}" in out

    def test_json_lists_every_workflow_sorted(self, wf: Wf, write_workflow: WriteWorkflow) -> None:
        write_workflow("zeta", DIAMOND)
        write_workflow("alpha", WITH_WARNING_AND_TRIGGER)
        code, out, _ = wf("validate", "--json")
        assert code == 0
        data = json.loads(out)
        assert [item["name"] for item in data] == ["alpha", "zeta"]
        assert all(set(item) == JSON_KEYS for item in data)
        assert data[0]["triggers"][0] == {"type": "cron", "config": {"schedule": "0 3 * * *"}}

    def test_json_with_no_workflows_is_an_empty_array(self, wf: Wf) -> None:
        code, out, _ = wf("validate", "--json")
        assert code == 0
        assert json.loads(out) == []


class TestStore:
    def test_store_check_passes_on_a_fresh_database(
        self, wf: Wf, write_workflow: WriteWorkflow
    ) -> None:
        write_workflow("diamond", DIAMOND)
        code, _, err = wf("validate", "diamond", "--store")
        assert code == 0, err
        assert err == ""

    def test_store_problem_exits_1(
        self, wf: Wf, write_workflow: WriteWorkflow, wf_home: Path
    ) -> None:
        write_workflow("diamond", DIAMOND)
        (wf_home / "wf.db").write_bytes(b"this is not a sqlite database" * 200)
        code, _, err = wf("validate", "diamond", "--store")
        assert code == 1
        assert "Error: database" in err
        assert "Traceback" not in err

    def test_definition_errors_win_over_store_problems(
        self, wf: Wf, write_workflow: WriteWorkflow, wf_home: Path
    ) -> None:
        write_workflow("broken", INVALID)
        (wf_home / "wf.db").write_bytes(b"garbage" * 1000)
        code, _, _ = wf("validate", "broken", "--store")
        assert code == 2


@pytest.mark.parametrize("flag", ["--json", "-j"])
def test_validate_json_prints_only_json_on_stdout(
    wf: Wf, write_workflow: WriteWorkflow, flag: str
) -> None:
    write_workflow("warned", WITH_WARNING_AND_TRIGGER)
    _, out, _ = wf("validate", flag)
    json.loads(out)
