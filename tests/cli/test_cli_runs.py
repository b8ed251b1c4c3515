"""``wf runs`` — summary box, table, filters, JSON and the other display modes.

See docs/cli.md#wf-runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from cli_samples import DIAMOND, FAILING, WriteWorkflow

Wf = Callable[..., tuple[int, str, str]]

SUMMARY_KEYS = {
    "total_runs",
    "success",
    "failed",
    "running",
    "cancelled",
    "interrupted",
    "success_rate",
    "avg_duration_ms",
    "total_duration_ms",
    "avg_tasks",
}
RUN_KEYS = {
    "id",
    "workflow",
    "status",
    "started_at",
    "ended_at",
    "duration_ms",
    "total_tasks",
    "tasks_success",
    "tasks_failed",
    "tasks_skipped",
    "tasks_cached",
    "execution_mode",
    "max_parallel",
    "resume_count",
    "tags",
    "error",
}


@pytest.fixture
def history(wf: Wf, write_workflow: WriteWorkflow) -> dict[str, str]:
    """One successful diamond run (tagged) and one failed run; returns workflow -> run ID."""
    write_workflow("diamond", DIAMOND)
    write_workflow("failing", FAILING)
    ids = {}
    for name, expected in (("diamond", 0), ("failing", 1)):
        code, out, _ = wf("run", name, "--json")
        assert code == expected
        ids[name] = json.loads(out)["run"]["id"]
    return ids


def test_no_runs_at_all(wf: Wf) -> None:
    code, out, _ = wf("runs")
    assert code == 0
    assert out.strip() == "No runs found matching the criteria"


def test_default_view_has_the_summary_box_and_the_table(wf: Wf, history: dict[str, str]) -> None:
    code, out, _ = wf("runs")
    assert code == 0
    assert "WORKFLOW RUNS SUMMARY" in out
    assert "Total Runs: 2" in out
    assert re.search(r"Success: 1\s+Failed: 1\s+Running: 0\s+Cancelled: 0\s+Interrupted: 0", out)
    assert "Success Rate: 50.0%" in out
    assert "Avg Tasks/Run: 3.5" in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("RUN ID"))
    assert re.split(r"\s{2,}", lines[header]) == [
        "RUN ID",
        "WORKFLOW",
        "STATUS",
        "STARTED AT",
        "DURATION",
        "TASKS",
        "SUCCESS",
        "FAILED",
        "SKIPPED",
        "CACHED",
    ]
    newest, oldest = lines[header + 1].split(), lines[header + 2].split()
    assert newest[:4] == [history["failing"][:8], "failing", "✗", "FAILED"]
    assert newest[-5:] == ["3", "1", "1", "0", "0"]
    assert oldest[:4] == [history["diamond"][:8], "diamond", "✓", "SUCCESS"]
    assert oldest[-5:] == ["4", "4", "0", "0", "0"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", newest[4])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-w", "diamond"], ["diamond"]),
        (["--workflow", "failing"], ["failing"]),
        (["-s", "failed"], ["failing"]),
        (["--status", "success"], ["diamond"]),
        (["--tag", "etl"], ["diamond"]),
        (["--tag", "nightly", "-s", "success"], ["diamond"]),
        (["-S", "name"], ["diamond", "failing"]),
        (["--sort", "workflow"], ["diamond", "failing"]),
        ([], ["failing", "diamond"]),
        (["-l", "1"], ["failing"]),
        (["-l", "1", "-o", "1"], ["diamond"]),
    ],
)
def test_filters_sorts_and_paging(
    wf: Wf, history: dict[str, str], args: list[str], expected: list[str]
) -> None:
    code, out, _ = wf("runs", "--timeline", *args)
    assert code == 0
    assert [line.split()[3] for line in out.splitlines()] == expected


@pytest.mark.parametrize(
    "args", [["-w", "nothing"], ["-s", "cancelled"], ["--tag", "night"], ["--tag", "nightly,etl"]]
)
def test_filters_that_match_nothing(wf: Wf, history: dict[str, str], args: list[str]) -> None:
    code, out, _ = wf("runs", *args)
    assert code == 0
    assert out.strip() == "No runs found matching the criteria"


def test_summary_covers_all_matching_runs_not_just_the_page(
    wf: Wf, history: dict[str, str]
) -> None:
    code, out, _ = wf("runs", "-l", "1")
    assert code == 0
    assert "Total Runs: 2" in out
    assert "Showing 1-1 of 2 runs" in out


def test_date_filters_are_inclusive_local_days(wf: Wf, history: dict[str, str]) -> None:
    today = date.today()
    yesterday = (today - timedelta(days=1)).isoformat()
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert "Total Runs: 2" in wf("runs", "--start-date", today.isoformat())[1]
    assert "Total Runs: 2" in wf("runs", "--end-date", today.isoformat())[1]
    assert "No runs found" in wf("runs", "--end-date", yesterday)[1]
    assert "No runs found" in wf("runs", "--start-date", tomorrow)[1]


def test_min_duration_excludes_short_runs(wf: Wf, history: dict[str, str]) -> None:
    code, out, _ = wf("runs", "--min-duration", "1h")
    assert code == 0
    assert "No runs found" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-s", "bogus"], "invalid status: bogus"),
        (["--status", "SUCCESS"], "invalid status: SUCCESS"),
        (["-S", "colour"], "invalid sort key"),
        (["--start-date", "2024-13-01"], "invalid --start-date"),
        (["--end-date", "yesterday"], "invalid --end-date"),
        (["--min-duration", "long"], "Error:"),
        (["-l", "-1"], "Error:"),
    ],
)
def test_bad_arguments_are_usage_errors(wf: Wf, args: list[str], message: str) -> None:
    code, out, err = wf("runs", *args)
    assert code == 2
    assert message in err
    assert "Run 'wf runs --help' for usage." in err
    assert out == ""


def test_json_shape(wf: Wf, history: dict[str, str]) -> None:
    code, out, _ = wf("runs", "--json")
    assert code == 0
    data: dict[str, Any] = json.loads(out)
    assert set(data) == {"summary", "runs"}
    summary = data["summary"]
    assert set(summary) == SUMMARY_KEYS
    assert (summary["total_runs"], summary["success"], summary["failed"]) == (2, 1, 1)
    assert summary["success_rate"] == 0.5
    assert summary["avg_tasks"] == 3.5
    assert isinstance(summary["total_duration_ms"], int)
    assert [r["id"] for r in data["runs"]] == [history["failing"], history["diamond"]]
    for run in data["runs"]:
        assert set(run) == RUN_KEYS
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", run["started_at"])
        assert isinstance(run["duration_ms"], int)
    failing = data["runs"][0]
    assert failing["workflow"] == "failing"
    assert failing["status"] == "failed"
    assert failing["error"] == "task build failed after 1 attempt(s): exit status 3"
    assert (failing["tasks_success"], failing["tasks_failed"]) == (1, 1)
    assert data["runs"][1]["tags"] == ["nightly", "etl"]
    assert data["runs"][1]["error"] is None


def test_json_text_is_json_dumps_with_indent_2(wf: Wf, history: dict[str, str]) -> None:
    """The document is written as ``json.dumps(doc, indent=2, ensure_ascii=False)`` would write
    it (``wf.jsontext`` writes it faster): key order, indentation and escapes included."""
    for args in (["--json"], ["--json", "-l", "0", "-S", "duration"], ["-j", "--tag", "etl"]):
        code, out, _ = wf("runs", *args)
        assert code == 0
        document = json.loads(out)
        assert list(document) == ["summary", "runs"]
        assert out == json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def test_json_with_no_runs(wf: Wf) -> None:
    code, out, _ = wf("runs", "-j")
    data = json.loads(out)
    assert code == 0
    assert data["runs"] == []
    assert data["summary"]["total_runs"] == 0


def test_timeline_has_one_line_per_run_and_no_box(wf: Wf, history: dict[str, str]) -> None:
    code, out, _ = wf("runs", "--timeline")
    assert code == 0
    assert "SUMMARY" not in out
    lines = out.splitlines()
    assert len(lines) == 2
    pattern = r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] (.) (\S+) \((\w+)\) \S+ - (\w{8})"
    first, second = (re.fullmatch(pattern, line) for line in lines)
    assert first is not None
    assert second is not None
    assert first.groups() == ("✗", "failing", "FAILED", history["failing"][:8])
    assert second.groups() == ("✓", "diamond", "SUCCESS", history["diamond"][:8])


def test_stats_prints_only_the_summary(wf: Wf, history: dict[str, str]) -> None:
    code, out, _ = wf("runs", "--stats")
    assert code == 0
    assert "WORKFLOW RUNS SUMMARY" in out
    assert "Total Runs: 2" in out
    assert "RUN ID" not in out
    assert history["diamond"][:8] not in out


def test_tasks_shows_each_nodes_latest_state(wf: Wf, history: dict[str, str]) -> None:
    code, out, _ = wf("runs", "--tasks", "-w", "failing")
    assert code == 0
    section = out.split(history["failing"][:8], 1)[1]
    assert re.search(r"prepare\s+✓ success\s+1", section)
    assert re.search(r"build\s+✗ failed\s+1", section)


def test_logs_shows_the_failed_tasks_with_their_logs(
    wf: Wf, history: dict[str, str], wf_home: Path
) -> None:
    code, out, _ = wf("runs", "--logs")
    assert code == 0
    log = wf_home / "logs" / history["failing"] / "build" / "attempt_1.log"
    assert re.search(rf"build\s+3\s+exit status 3\s+{re.escape(str(log))}", out)
    assert "prepare" not in out.split(history["failing"][:8], 1)[1].split("\n\n", 1)[0]


def test_detailed_prints_a_box_per_run(wf: Wf, history: dict[str, str]) -> None:
    code, out, _ = wf("runs", "--detailed", "-w", "diamond")
    assert code == 0
    assert history["diamond"] in out
    assert "nightly, etl" in out
    assert "4 nodes, 3 levels" in out
    assert "sequential" in out
