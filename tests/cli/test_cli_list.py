"""``wf list [-j|--json] [-d|--detailed]`` (docs/cli.md#wf-list)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from cli_samples import DIAMOND, FAILING, WriteWorkflow

Wf = Callable[..., tuple[int, str, str]]


def test_table_lists_workflows_sorted_with_task_counts(
    wf: Wf, write_workflow: WriteWorkflow
) -> None:
    write_workflow("zeta", DIAMOND)
    write_workflow("alpha", FAILING)
    code, out, _ = wf("list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["WORKFLOW", "TASKS"]
    assert [line.split() for line in lines[1:]] == [["alpha", "3"], ["zeta", "4"]]


def test_invalid_workflows_are_marked(wf: Wf, write_workflow: WriteWorkflow) -> None:
    write_workflow(
        "cycle",
        '[tasks.a]\ncmd="true"\ndepends_on=["b"]\n[tasks.b]\ncmd="true"\ndepends_on=["a"]\n',
    )
    write_workflow("garbage", "this is = = not toml\n")
    code, out, _ = wf("list")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "(invalid)" in rows["cycle"]
    assert rows["cycle"].split()[-1] == "2"
    assert "(invalid)" in rows["garbage"]
    assert rows["garbage"].split()[-1] == "0"


def test_no_workflows(wf: Wf, wf_home: Path) -> None:
    code, out, _ = wf("list")
    assert code == 0
    assert out.strip() == f"No workflows found in {wf_home / 'workflows'}"


def test_json_shape(wf: Wf, write_workflow: WriteWorkflow) -> None:
    path = write_workflow("diamond", DIAMOND)
    write_workflow("garbage", "nope nope\n")
    code, out, _ = wf("list", "--json")
    assert code == 0
    data = json.loads(out)
    assert [item["name"] for item in data] == ["diamond", "garbage"]
    assert data[0] == {
        "name": "diamond",
        "file": str(path),
        "valid": True,
        "tasks": 4,
        "description": "a diamond with a condition",
        "tags": ["nightly", "etl"],
    }
    assert data[1]["valid"] is False
    assert data[1]["tasks"] == 0


def test_json_with_no_workflows_is_an_empty_array(wf: Wf) -> None:
    code, out, _ = wf("list", "-j")
    assert code == 0
    assert json.loads(out) == []


def test_detailed_adds_run_counts_after_runs(wf: Wf, write_workflow: WriteWorkflow) -> None:
    write_workflow("diamond", DIAMOND)
    write_workflow("failing", FAILING)
    write_workflow("never", '[tasks.a]\ncmd = "true"\n')
    assert wf("run", "diamond")[0] == 0
    assert wf("run", "diamond")[0] == 0
    assert wf("run", "failing")[0] == 1
    code, out, _ = wf("list", "--detailed")
    assert code == 0
    lines = out.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == [
        "WORKFLOW",
        "TASKS",
        "TOTAL RUNS",
        "SUCCESS",
        "FAILED",
        "LAST RUN",
    ]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["diamond"][1:5] == ["4", "2", "2", "0"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", rows["diamond"][5])
    assert re.fullmatch(r"\d\d:\d\d:\d\d", rows["diamond"][6])
    assert rows["failing"][1:5] == ["3", "1", "0", "1"]
    assert rows["never"] == ["never", "1", "0", "0", "0", "-"]


def test_detailed_json_adds_the_run_keys(wf: Wf, write_workflow: WriteWorkflow) -> None:
    write_workflow("diamond", DIAMOND)
    write_workflow("never", '[tasks.a]\ncmd = "true"\n')
    assert wf("run", "diamond")[0] == 0
    code, out, _ = wf("list", "-d", "-j")
    assert code == 0
    by_name = {item["name"]: item for item in json.loads(out)}
    ran = by_name["diamond"]
    assert (ran["total_runs"], ran["success_count"], ran["failed_count"]) == (1, 1, 0)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", ran["last_run"])
    never = by_name["never"]
    assert (never["total_runs"], never["success_count"], never["failed_count"]) == (0, 0, 0)
    assert never["last_run"] is None
