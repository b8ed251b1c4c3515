"""``wf inspect``: payload, text sections, JSON shape, prefixes, unknown runs.

See docs/cli.md#wf-inspect.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from wf.cli.commands.inspect import render_inspection
from wf.cli.fmt import Style
from wf.inspection import Inspection, inspect_run
from wf.storage import (
    ContextSnapshot,
    DAGCache,
    ExecutionMode,
    ForensicLog,
    Run,
    RunStatus,
    TaskExecution,
    TaskStatus,
)

RUN_KEYS = {
    "id", "workflow_name", "workflow_file", "status", "start_time", "end_time", "duration_ms",
    "total_tasks", "tasks_success", "tasks_failed", "tasks_skipped", "execution_mode",
    "max_parallel", "resume_count", "last_resume_time", "tags", "timeout_ms", "clean_env",
    "error", "failed_task", "owner_pid", "owner_host", "owner_started_at", "heartbeat_at",
    "created_at", "updated_at", "tasks_cached",
}  # fmt: skip
TASK_KEYS = {
    "id", "run_id", "task_id", "task_name", "command", "state", "working_dir", "log_path",
    "exit_code", "start_time", "end_time", "duration_ms", "attempt", "max_retries",
    "is_forensic", "is_matrix_expansion", "matrix_vars", "condition_expr", "condition_result",
    "error_message", "stack_trace", "fingerprint", "output_truncated", "pid", "created_at",
    "updated_at", "hostname",
}  # fmt: skip
HEADERS = [
    "=== RUN METADATA ===",
    "=== TASKS ===",
    "=== CONTEXT VARIABLES ===",
    "=== FORENSIC LOGS ===",
    "=== DAG STRUCTURE ===",
]


def style(*, unicode: bool = True) -> Style:
    """A colourless style whose character set does not depend on the test's stdout."""
    return Style(SimpleNamespace(encoding="utf-8" if unicode else "ascii"), colour=False)  # type: ignore[arg-type]


def test_json_payload_has_the_spec_shape(wf, flow_run):
    code, out, _ = wf("inspect", flow_run, "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"run", "tasks", "cached", "variables", "forensic_logs", "dag_cache"}
    assert set(data["run"]) == RUN_KEYS
    assert data["run"]["id"] == flow_run
    assert data["run"]["status"] == "failed"
    assert data["run"]["failed_task"] == "build"
    assert data["run"]["tags"] == ["nightly"]
    assert all(set(t) == TASK_KEYS for t in data["tasks"])
    assert [t["task_id"] for t in data["tasks"]] == ["fetch", "build", "__GLOBAL_FAILURE_TRAP__"]
    assert data["tasks"][2]["is_forensic"] is True


def test_json_variables_are_the_latest_snapshot_of_each_name(wf, flow_run):
    data = json.loads(wf("inspect", flow_run, "-j").out)
    variables = {v["name"]: v for v in data["variables"]}
    assert set(variables["payload"]) == {
        "name", "value", "type", "set_by_task", "set_at", "is_read_only"
    }  # fmt: skip
    assert variables["payload"]["value"] == "fetched"
    assert variables["payload"]["set_by_task"] == "fetch"
    assert variables["greeting"]["value"] == "hello"
    assert variables["failed_task"]["value"] == "build"
    assert variables["failed_task"]["set_by_task"] == "__global_forensic__"
    assert len(data["variables"]) == len(variables)  # one entry per name


def test_json_dag_cache_holds_the_parsed_graph(wf, flow_run):
    data = json.loads(wf("inspect", flow_run, "-j").out)
    cache = data["dag_cache"]
    assert set(cache) == {"total_nodes", "total_levels", "has_parallel_tasks", "dag"}
    assert (cache["total_nodes"], cache["total_levels"], cache["has_parallel_tasks"]) == (
        2,
        2,
        False,
    )
    assert cache["dag"]["name"] == "flow"
    (trap_log,) = data["forensic_logs"]
    assert trap_log["log_type"] == "trap_output"
    assert trap_log["triggered_by"] == "build"
    assert "trapped" in trap_log["log_data"]


def test_text_shows_the_five_sections_in_order(wf, flow_run):
    code, out, _ = wf("inspect", flow_run)
    assert code == 0
    positions = [out.index(h) for h in HEADERS]
    assert positions == sorted(positions)
    assert f"Run ID:         {flow_run}" in out
    assert "Root Cause:     build" in out
    assert "Owner:" in out
    assert "TASK" in out
    assert "EXIT CODE" in out
    assert "exit status 3" in out
    assert "NAME  " in out
    assert "payload" in out
    assert "| trapped" in out
    assert "Nodes:           2" in out


def test_a_unique_prefix_is_enough(wf, flow_run):
    code, out, _ = wf("inspect", flow_run[:6], "-j")
    assert code == 0
    assert json.loads(out)["run"]["id"] == flow_run


def test_unknown_run_exits_1(wf, flow_run):
    code, out, err = wf("inspect", "zzzzzz")
    assert code == 1
    assert out == ""
    assert "Error: run not found: zzzzzz" in err


def test_library_payload_matches_the_command(store, flow_run):
    insp = inspect_run(store, flow_run[:8])
    assert insp.run.id == flow_run
    assert [te.task_id for te in insp.latest] == ["fetch", "build", "__GLOBAL_FAILURE_TRAP__"]
    assert [v.variable_name for v in insp.variables] == sorted(
        v.variable_name for v in insp.variables
    )


# -- rendering (hand-built payloads, fixed width, no colour) -------------------------------

T0 = datetime(2026, 3, 13, 9, 15, 2, 123456, tzinfo=UTC)


def hand_built() -> Inspection:
    run = Run(
        id="3MhMG5PEoLIPE9R5W6g3zstxxUs",
        workflow_name="site-release",
        workflow_file="/srv/wf/workflows/site-release.toml",
        status=RunStatus.FAILED,
        start_time=T0,
        end_time=T0 + timedelta(seconds=75, milliseconds=400),
        duration_ms=75400,
        total_tasks=3,
        tasks_success=1,
        tasks_failed=2,
        tasks_skipped=0,
        execution_mode=ExecutionMode.PARALLEL,
        max_parallel=4,
        resume_count=1,
        last_resume_time=T0 + timedelta(seconds=30),
        tags=["docs", "release"],
        error="task build failed after 2 attempt(s): exit status 2",
        failed_task="build",
        owner_pid=4242,
        owner_host="buildbox",
        heartbeat_at=T0 + timedelta(seconds=75),
    )
    long_error = "failed to start command: " + "x" * 80
    rows = [
        TaskExecution(
            id=1, task_id="revision", state=TaskStatus.SUCCESS, exit_code=0, duration_ms=120
        ),
        TaskExecution(
            id=3,
            task_id="build",
            state=TaskStatus.FAILED,
            exit_code=2,
            attempt=2,
            duration_ms=61000,
            error_message="exit status 2",
            output_truncated=1024,
        ),
        TaskExecution(
            id=4,
            task_id="test[python=3.11]",
            state=TaskStatus.FAILED,
            exit_code=None,
            duration_ms=0,
            error_message=long_error,
        ),
    ]
    variables = [
        ContextSnapshot(variable_name="commit", variable_value="a1b2c3d", set_by_task="revision"),
        ContextSnapshot(
            variable_name="notes",
            variable_value="line one\nline two " + "y" * 60,
            set_by_task="__runtime__",
        ),
        ContextSnapshot(
            variable_name="retries", variable_value="3", variable_type="int", set_by_task="build"
        ),
    ]
    logs = [
        ForensicLog(
            id=1,
            task_id="__GLOBAL_FAILURE_TRAP__",
            log_type="trap_output",
            log_data="paging on-call\nsent\n",
            triggered_by="build",
            trigger_reason="task build failed after 2 attempt(s): exit status 2",
            created_at=T0 + timedelta(seconds=76),
        ),
        ForensicLog(
            id=2,
            task_id="build",
            log_type="timeout",
            log_data="\n".join(f"line {i}" for i in range(12)),
            created_at=T0 + timedelta(seconds=40),
        ),
    ]
    cache = DAGCache(total_nodes=3, total_levels=2, has_parallel_tasks=True, dag_json="{}")
    return Inspection(run, rows, rows, variables, logs, cache)


def test_rendered_text_matches_snapshot(snapshot):
    snapshot("inspect.txt", render_inspection(hand_built(), style()))


def test_ascii_stand_ins_match_snapshot(snapshot):
    text = render_inspection(hand_built(), style(unicode=False))
    assert text.isascii()
    assert "line one line two yyyyyyyyyyyyyyyyyyyyyyyyyyy...  " in text
    snapshot("inspect_ascii.txt", text)


def test_error_is_cut_to_60_and_truncated_output_is_marked():
    lines = render_inspection(hand_built(), style()).splitlines()
    build = next(line for line in lines if line.startswith("build "))
    assert build.endswith("exit status 2 +trunc")
    test = next(line for line in lines if line.startswith("test[python=3.11]"))
    error = re.split(r"\s{2,}", test)[-1]
    assert len(error) == 60
    assert error.endswith("…")


def test_value_is_cut_to_48_on_one_line():
    lines = render_inspection(hand_built(), style()).splitlines()
    notes = next(line for line in lines if line.startswith("notes"))
    value = re.split(r"\s{2,}", notes)[2]
    assert len(value) == 48
    assert value.startswith("line one line two")


def test_run_without_rows_or_cache_still_renders_every_section():
    empty = Inspection(Run(id="x" * 27, status=RunStatus.RUNNING), [], [], [], [], None)
    text = render_inspection(empty, style())
    for header in HEADERS:
        assert header in text
    assert "(no task executions)" in text
    assert "(no DAG recorded for this run)" in text


@pytest.mark.parametrize("as_json", [False, True])
def test_inspect_of_an_unfinished_run_row(wf, store, as_json):
    run_id = store.create_run(Run(workflow_name="w", workflow_file="/w.toml", start_time=T0))
    args = ["inspect", run_id] + (["--json"] if as_json else [])
    code, out, _ = wf(*args)
    assert code == 0
    if as_json:
        data = json.loads(out)
        assert data["tasks"] == []
        assert data["dag_cache"] is None
    else:
        assert "PENDING" in out
