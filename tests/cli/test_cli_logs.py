"""``wf logs RUN_ID [TASK] [-f] [-n N] [--attempt N]`` (docs/cli.md#wf-logs)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_samples import WriteWorkflow

from wf.storage import Run, RunStatus, Store

Wf = Callable[..., tuple[int, str, str]]

RETRIED = """\
    [tasks.first]
    cmd = "printf 'one\\ntwo\\nthree\\nfour\\n'"

    [tasks.flaky]
    cmd = 'echo "try $WF_ATTEMPT"; exit 4'
    retries = 1
    depends_on = ["first"]
"""

MATRIX = """\
    [tasks.test]
    cmd = "echo testing {{.py}}"
    matrix = { py = ["3.11", "3.12"] }
"""


@pytest.fixture
def run_id(wf: Wf, write_workflow: WriteWorkflow) -> str:
    """A failed run: 'first' succeeded, 'flaky' failed twice with exit code 4."""
    write_workflow("retried", RETRIED)
    code, out, _ = wf("run", "retried", "--json")
    assert code == 1
    run_id: str = json.loads(out)["run"]["id"]
    return run_id


def test_whole_run_shows_every_attempt_with_prefixed_lines(wf: Wf, run_id: str) -> None:
    code, out, _ = wf("logs", run_id)
    assert code == 0
    lines = [line for line in out.splitlines() if line]
    assert lines == [
        f"=== Logs for Run '{run_id}' (retried) ===",
        "[first] Attempt 1 | Status: success | Exit Code: 0",
        "[first] one",
        "[first] two",
        "[first] three",
        "[first] four",
        "[flaky] Attempt 1 | Status: failed | Exit Code: 4",
        "[flaky] Last Error: exit status 4",
        "[flaky] try 1",
        "[flaky] Attempt 2 | Status: failed | Exit Code: 4",
        "[flaky] Last Error: exit status 4",
        "[flaky] try 2",
    ]


def test_one_task_shows_its_sections(wf: Wf, run_id: str) -> None:
    code, out, _ = wf("logs", run_id, "flaky")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"=== Logs for Task 'flaky' in Run '{run_id}' ==="
    assert lines[1].split() == ["Status:", "failed"]
    assert lines[2].split() == ["Attempts:", "2"]
    assert lines[3].startswith("Started:")
    assert lines[4].startswith("Ended:")
    assert lines[5].startswith("Duration:")
    assert lines[5].split()[1].endswith("s")
    assert len(lines[5].split()[1].split(".")[1]) == 4  # three decimals and the unit
    assert lines[6].split() == ["Exit", "Code:", "4"]
    assert lines[7] == "--- Attempts ---"
    assert lines[8].split() == ["ATTEMPT", "STATUS", "EXIT", "CODE", "DURATION", "ERROR"]
    assert lines[9].split()[:3] == ["1", "failed", "4"]
    assert lines[9].endswith("exit status 4")
    assert lines[10].split()[:3] == ["2", "failed", "4"]
    assert lines[11:] == [
        "--- Output ---",
        "[Attempt 1] try 1",
        "[Attempt 2] try 2",
        "--- Error ---",
        "exit status 4",
    ]


def test_successful_task_has_no_error_section(wf: Wf, run_id: str) -> None:
    code, out, _ = wf("logs", run_id, "first")
    assert code == 0
    assert "--- Error ---" not in out
    assert "[Attempt 1] four" in out


def test_attempt_selects_one_attempt(wf: Wf, run_id: str) -> None:
    code, out, _ = wf("logs", run_id, "--attempt", "2")
    assert code == 0
    assert "[flaky] try 2" in out
    assert "try 1" not in out
    assert "[first]" not in out
    code, out, _ = wf("logs", run_id, "flaky", "--attempt", "1")
    assert "[Attempt 1] try 1" in out
    assert "try 2" not in out


@pytest.mark.parametrize("flag", ["--tail", "-n"])
def test_tail_limits_the_lines_per_attempt(wf: Wf, run_id: str, flag: str) -> None:
    code, out, _ = wf("logs", run_id, "first", flag, "2")
    assert code == 0
    output = out.split("--- Output ---\n", 1)[1].splitlines()
    assert output == ["[Attempt 1] three", "[Attempt 1] four"]


def test_tail_zero_prints_whole_files(wf: Wf, run_id: str) -> None:
    code, out, _ = wf("logs", run_id, "first", "-n", "0")
    assert code == 0
    assert out.count("[Attempt 1] ") == 4


def test_a_unique_prefix_selects_the_run(wf: Wf, run_id: str) -> None:
    code, out, _ = wf("logs", run_id[:12])
    assert code == 0
    assert f"=== Logs for Run '{run_id}' (retried) ===" in out


def test_unknown_task_exits_1(wf: Wf, run_id: str) -> None:
    code, out, err = wf("logs", run_id, "nope")
    assert code == 1
    assert f"task 'nope' not found in run '{run_id}'" in err
    assert out == ""


def test_unknown_run_exits_1(wf: Wf, run_id: str) -> None:
    code, _, err = wf("logs", "zzzzzzzz")
    assert code == 1
    assert "Error: run not found: zzzzzzzz" in err


def test_unknown_run_in_a_fresh_home_exits_1(wf: Wf) -> None:
    code, _, err = wf("logs", "abc")
    assert code == 1
    assert "run not found" in err


def test_ambiguous_prefix_is_an_error_listing_the_candidates(
    wf: Wf, write_workflow: WriteWorkflow, run_id: str
) -> None:
    code, out, _ = wf("run", "retried", "--json")
    other: str = json.loads(out)["run"]["id"]
    same = itertools.takewhile(lambda pair: pair[0] == pair[1], zip(run_id, other, strict=True))
    prefix = "".join(a for a, _ in same)
    assert prefix  # the IDs start with their creation second
    code, _, err = wf("logs", prefix)
    assert code == 1
    assert f"ambiguous run ID prefix {prefix} matches:" in err
    assert run_id in err
    assert other in err


def test_a_missing_log_file_shows_as_an_empty_log(wf: Wf, run_id: str, wf_home: Path) -> None:
    # An attempt that printed nothing has no file (docs/executors.md, "How a task runs").
    log = wf_home / "logs" / run_id / "first" / "attempt_1.log"
    log.write_bytes(b"")
    shown = {"empty": [wf("logs", run_id), wf("logs", run_id, "first", "--attempt", "1")]}
    log.unlink()
    shown["missing"] = [wf("logs", run_id), wf("logs", run_id, "first", "--attempt", "1")]
    assert shown["missing"] == shown["empty"]
    (code, out, err), (code_one, out_one, _) = shown["missing"]
    assert (code, code_one, err) == (0, 0, "")
    lines = out.splitlines()
    header = lines.index("[first] Attempt 1 | Status: success | Exit Code: 0")
    after = "[flaky] Attempt 1 | Status: failed | Exit Code: 4"
    assert lines[header + 1 : header + 3] == ["", after]
    assert "No logs recorded" not in out + out_one
    assert "Unable to read" not in out + out_one
    assert out_one.endswith("--- Output ---\n")


def test_early_failure_has_no_log(wf: Wf, write_workflow: WriteWorkflow) -> None:
    write_workflow("early", '[tasks.a]\ncmd = "echo {{.nope}}"\n')
    code, out, _ = wf("run", "early", "--json")
    run_id = json.loads(out)["run"]["id"]
    code, out, _ = wf("logs", run_id)
    assert code == 0
    assert "[a] Attempt 1 | Status: failed | Exit Code: N/A" in out
    assert "[a] Last Error: interpolation failed in cmd" in out
    assert "[a] (No logs recorded)" in out


def test_matrix_base_name_selects_every_expansion(wf: Wf, write_workflow: WriteWorkflow) -> None:
    write_workflow("matrix", MATRIX)
    code, out, _ = wf("run", "matrix", "--json")
    assert code == 0
    run_id = json.loads(out)["run"]["id"]
    code, out, _ = wf("logs", run_id, "test")
    assert code == 0
    assert "testing 3.11" in out
    assert "testing 3.12" in out
    code, out, _ = wf("logs", run_id, "test[py=3.12]")
    assert code == 0
    assert "[Attempt 1] testing 3.12" in out
    assert "3.11" not in out


def test_run_without_rows(wf: Wf, wf_home: Path) -> None:
    wf("init")
    with Store(wf_home / "wf.db") as store:
        run_id = store.create_run(
            Run(workflow_name="empty", workflow_file="/x/empty.toml", status=RunStatus.FAILED)
        )
    code, out, _ = wf("logs", run_id)
    assert code == 0
    assert out.strip() == f"No task executions found for run '{run_id}'"


def test_follow_on_a_finished_run_prints_everything_and_exits(wf: Wf, run_id: str) -> None:
    code, out, _ = wf("logs", run_id, "-f")
    assert code == 0
    for line in ("one", "four", "try 1", "try 2"):
        assert line in out
