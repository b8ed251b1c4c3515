"""End to end: a capacity-1 pool never has two tasks in flight, in every mode."""

from __future__ import annotations

import itertools
import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from wf.storage import Store

Wf = Callable[..., tuple[int, str, str]]

# Three gpu tasks (a mkdir lock makes any overlap fail the task itself) and two free tasks
# that wait for each other: the run really is concurrent, yet the gpu tasks never overlap.
POOLED = """
name = "pooled"

[pools]
gpu = 1

[tasks.train]
matrix = {{ model = ["a", "b", "c"] }}
pool   = "gpu"
cmd    = 'mkdir "{marks}/gpu.lock" || exit 9; sleep 0.2; rmdir "{marks}/gpu.lock"'

[tasks.free]
matrix  = {{ side = ["x", "y"] }}
cmd     = '''touch "{marks}/{{{{.side}}}}"; for i in $(seq 500); do \
             [ -e "{marks}/x" ] && [ -e "{marks}/y" ] && exit 0; sleep 0.02; done; exit 7'''
"""


@pytest.mark.parametrize(
    "mode", [["--sequential"], ["--parallel", "--max-parallel", "5"], ["-j", "5"]]
)
def test_a_capacity_1_pool_runs_its_tasks_one_at_a_time(
    wf: Wf, wf_home: Path, tmp_path: Path, mode: list[str]
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    workflow = tmp_path / "pooled.toml"
    workflow.write_text(POOLED.format(marks=marks), encoding="utf-8")
    if mode == ["--sequential"]:
        # One at a time anyway: the free tasks must not wait for each other.
        text = workflow.read_text(encoding="utf-8").replace("for i in", "exit 0; for i in")
        workflow.write_text(text, encoding="utf-8")
    code, out, err = wf("run", str(workflow), *mode, "--json")
    assert code == 0, out + err
    run_id = json.loads(out)["run"]["id"]
    with Store(wf_home / "wf.db") as store:
        rows = store.list_task_executions(run_id=run_id)
    gpu = sorted(
        ((r.start_time, r.end_time) for r in rows if r.task_id.startswith("train[")),
        key=lambda span: span[0] or 0,
    )
    assert len(gpu) == 3
    for (_, end), (start, _) in itertools.pairwise(gpu):
        assert end is not None
        assert start is not None
        assert end <= start, f"gpu tasks overlap: {gpu}"


def test_the_dry_run_plan_and_validate_json_show_the_pools(wf: Wf, tmp_path: Path) -> None:
    workflow = tmp_path / "pooled.toml"
    workflow.write_text(POOLED.format(marks=tmp_path), encoding="utf-8")
    code, out, _ = wf("run", str(workflow), "--dry-run")
    assert code == 0
    assert "Pools: gpu = 1" in out.splitlines()
    assert out.count("    Pools: gpu = 1") == 3
    code, out, _ = wf("run", str(workflow), "--dry-run", "--json")
    plan = json.loads(out)
    assert plan["pools"] == {"gpu": 1}
    tasks = {t["id"]: t for level in plan["levels"] for t in level["tasks"]}
    assert tasks["train[model=a]"]["pools"] == {"gpu": 1}
    assert tasks["free[side=x]"]["pools"] == {}
    code, out, _ = wf("validate", str(workflow), "--json")
    assert code == 0
    (result,) = json.loads(out)
    assert result["pools"] == {"gpu": 1}
    assert result["task_pools"] == {f"train[model={m}]": {"gpu": 1} for m in "abc"}


def test_a_pool_from_the_config_and_a_workflow_override(
    wf: Wf, wf_home: Path, tmp_path: Path
) -> None:
    wf_home.mkdir(parents=True, exist_ok=True)
    (wf_home / "config.toml").write_text("[pools]\ngpu = 2\ndb = 3\n", encoding="utf-8")
    workflow = tmp_path / "cfg.toml"
    workflow.write_text(
        textwrap.dedent(
            """
            [pools]
            gpu = 1
            [tasks.a]
            cmd = "true"
            pools = { gpu = 1, db = 3 }
            """
        ),
        encoding="utf-8",
    )
    code, out, err = wf("validate", str(workflow), "--json")
    assert code == 0, err
    assert json.loads(out)[0]["pools"] == {"db": 3, "gpu": 1}
    workflow.write_text(workflow.read_text().replace("gpu = 1, db = 3", "gpu = 2"))
    code, out, _ = wf("validate", str(workflow), "--json")
    assert code == 2
    assert json.loads(out)[0]["errors"] == [
        'task "a": weight 2 for pool "gpu" is above its capacity 1'
    ]
    workflow.write_text(workflow.read_text().replace("gpu = 2", "gpus = 1"))
    code, out, _ = wf("validate", str(workflow), "--json")
    (error,) = json.loads(out)[0]["errors"]
    assert error.startswith('task "a": unknown pool "gpus" (did you mean "gpu"?)')
