"""``wf health`` (docs/cli.md#wf-health): checks, healthy and unhealthy systems, text and JSON."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from wf.cli.commands.health import human_bytes, render_health
from wf.cli.fmt import Style
from wf.config import load_config
from wf.health import HealthReport, WorkflowProblem, check_health, directory_size
from wf.storage import Run, RunStatus
from wf.storage.schema import LATEST_VERSION

HEALTH_KEYS = [
    "database_ok",
    "database_path",
    "database_size_bytes",
    "schema_version",
    "stale_runs",
    "interrupted_runs",
    "workflows_total",
    "workflows_valid",
    "workflow_errors",
    "log_disk_bytes",
    "success_rate_7d",
    "cache",
    "healthy",
]
GOOD = '[tasks.hello]\ncmd = "echo hello"\n'


def style() -> Style:
    return Style(SimpleNamespace(encoding="utf-8"), colour=False)  # type: ignore[arg-type]


def test_healthy_system_exits_0(wf, write_workflow, run_workflow):
    run_workflow(write_workflow(GOOD, "hello"), expect=0)
    code, out, err = wf("health")
    assert code == 0
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == "=== SYSTEM HEALTH ==="
    config = load_config()
    assert lines[1].startswith(f"Database:        ✓ ok ({config.database_path}, ")
    assert lines[1].endswith(f", schema v{LATEST_VERSION})")
    assert "Stale runs:      0" in lines
    assert "Interrupted:     0" in lines
    assert "Workflows:       ✓ 1/1 valid" in lines
    assert "Success rate 7d: 100.0%" in lines
    assert lines[-1] == "● System is healthy"


def test_json_has_exactly_the_spec_keys(wf, write_workflow, run_workflow, flow_run):
    run_workflow(write_workflow(GOOD, "hello"), expect=0)  # one success, one failure (flow_run)
    code, out, _ = wf("health", "--json")
    assert code == 0
    data = json.loads(out)
    assert list(data) == HEALTH_KEYS
    config = load_config()
    assert data["database_ok"] is True
    assert data["database_path"] == str(config.database_path)
    assert data["database_size_bytes"] > 0
    assert data["schema_version"] == LATEST_VERSION
    assert data["cache"] == {"records": 0, "workflows": 0, "bytes": 0, "file_hashes": 0}
    assert (data["workflows_total"], data["workflows_valid"]) == (2, 2)
    assert data["workflow_errors"] == []
    assert data["success_rate_7d"] == 0.5
    assert data["log_disk_bytes"] == directory_size(config.logs_dir) > 0
    assert data["healthy"] is True


def test_invalid_workflow_makes_the_system_unhealthy(wf, write_workflow):
    write_workflow(GOOD, "hello")
    write_workflow('[tasks.broken]\ncmd = ""\n', "broken")
    code, out, err = wf("health")
    assert code == 1
    assert "Workflows:       ✗ 1/2 valid" in out
    assert "  ! broken.toml: task broken must have a command" in out.splitlines()
    assert out.splitlines()[-1] == "● System needs attention"
    assert err.strip() == "Error: one or more health checks failed"
    code, out, _ = wf("health", "-j")
    assert code == 1
    data = json.loads(out)
    assert data["healthy"] is False
    assert data["workflow_errors"] == [
        {"workflow": "broken.toml", "errors": ["task broken must have a command"]}
    ]


def test_stale_running_run_makes_the_system_unhealthy(wf, store):
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    # No owner fields: the interruption sweep leaves it alone, so it stays stale.
    store.create_run(
        Run(
            workflow_name="w",
            workflow_file="/w.toml",
            status=RunStatus.RUNNING,
            start_time=long_ago,
            heartbeat_at=long_ago,
        )
    )
    code, out, err = wf("health")
    assert code == 1
    assert "Stale runs:      ⚠ 1 (no heartbeat for 30+ minutes)" in out
    assert "Error: one or more health checks failed" in err
    assert json.loads(wf("health", "-j").out)["stale_runs"] == 1


def test_interrupted_runs_are_informational(wf, store):
    store.create_run(Run(workflow_name="w", workflow_file="/w.toml", status=RunStatus.INTERRUPTED))
    code, out, _ = wf("health")
    assert code == 0
    assert "Interrupted:     1 (resumable)" in out
    assert "Success rate 7d: 0.0%" in out


def test_unusable_database_is_reported_not_raised(wf, tmp_path, monkeypatch):
    directory = tmp_path / "not-a-file"
    directory.mkdir()
    monkeypatch.setenv("WF_PATHS_DATABASE", str(directory))
    code, out, err = wf("health", "-j")
    assert code == 1
    data = json.loads(out)
    assert data["database_ok"] is False
    assert data["healthy"] is False
    assert "Error: one or more health checks failed" in err
    text = wf("health").out
    assert f"Database:        ✗ error (cannot open database {directory}" in text


def test_fresh_home_has_no_data(wf):
    code, out, _ = wf("health")
    assert code == 0
    assert "Success rate 7d: no data" in out
    assert "Workflows:       ✓ 0/0 valid" in out
    assert "Log disk usage:  0 B" in out


def test_library_check_opens_and_closes_its_own_store(wf_home):
    report = check_health(load_config())
    assert report.database_ok
    assert report.healthy
    assert report.success_rate_7d == -1.0


def test_directory_size_counts_regular_files_only(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.log").write_bytes(b"x" * 100)
    (tmp_path / "y.log").write_bytes(b"y" * 28)
    os.symlink(tmp_path / "y.log", tmp_path / "link.log")
    assert directory_size(tmp_path) == 128
    assert directory_size(tmp_path / "missing") == 0


def test_human_bytes():
    assert human_bytes(0) == "0 B"
    assert human_bytes(1023) == "1023 B"
    assert human_bytes(1024) == "1.0 KiB"
    assert human_bytes(int(1.2 * 1024 * 1024)) == "1.2 MiB"
    assert human_bytes(5 * 1024**3) == "5.0 GiB"


def test_rendered_report_matches_the_spec_layout():
    report = HealthReport(
        database_ok=True,
        database_path="/home/u/.local/share/wf/wf.db",
        database_size_bytes=int(1.2 * 1024 * 1024),
        schema_version=2,
        interrupted_runs=1,
        workflows_total=3,
        workflows_valid=2,
        workflow_errors=[WorkflowProblem("nightly.toml", ["E1", "E2"])],
        log_disk_bytes=int(4.5 * 1024 * 1024),
        success_rate_7d=0.923,
        cache_records=12,
        cache_workflows=2,
        cache_bytes=3 * 1024,
        cache_file_hashes=40,
    )
    assert render_health(report, style()).splitlines() == [
        "=== SYSTEM HEALTH ===",
        "Database:        ✓ ok (/home/u/.local/share/wf/wf.db, 1.2 MiB, schema v2)",
        "Stale runs:      0",
        "Interrupted:     1 (resumable)",
        "Workflows:       ✗ 2/3 valid",
        "  ! nightly.toml: E1",
        "Log disk usage:  4.5 MiB",
        "Success rate 7d: 92.3%",
        "Cache:           12 record(s) of 2 workflow(s), 3.0 KiB; 40 file hash(es)",
        "● System needs attention",
    ]
