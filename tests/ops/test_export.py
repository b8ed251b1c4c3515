"""``wf export`` (docs/cli.md#wf-export): the payload, JSON to stdout or a file, and the tarball."""

from __future__ import annotations

import json
import stat
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wf.export import export_payload
from wf.files import make_private_dirs

PAYLOAD_KEYS = {
    "format_version",
    "exported_at",
    "run",
    "tags",
    "tasks",
    "dependencies",
    "context_snapshots",
    "forensic_logs",
    "audit_trail",
    "dag",
}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_json_to_stdout_has_every_part_of_the_run(wf, flow_run):
    code, out, err = wf("export", flow_run)
    assert code == 0
    assert err == ""
    data = json.loads(out)
    assert set(data) == PAYLOAD_KEYS
    assert data["format_version"] == 1
    assert data["exported_at"].endswith("Z")
    assert len(data["exported_at"]) == 27
    assert data["run"]["id"] == flow_run
    assert data["tags"] == ["nightly"]
    assert [t["task_id"] for t in data["tasks"]] == ["fetch", "build", "__GLOBAL_FAILURE_TRAP__"]
    assert data["dependencies"][0]["task_id"] == "build"
    assert data["dependencies"][0]["depends_on_task_id"] == "fetch"
    assert {s["variable_name"] for s in data["context_snapshots"]} >= {"payload", "greeting"}
    times = [s["snapshot_time"] for s in data["context_snapshots"]]
    assert times == sorted(times)  # oldest first
    assert data["forensic_logs"][0]["log_type"] == "trap_output"
    assert data["audit_trail"][0]["event_data"]["workflow"] == "flow"  # parsed
    assert data["dag"]["name"] == "flow"


def test_json_to_a_file_is_private_and_announced(wf, flow_run, tmp_path):
    target = tmp_path / "out" / "nested" / "run.json"
    code, out, err = wf("export", flow_run[:8], "-o", str(target))
    assert code == 0
    assert out == ""
    assert f"exported run {flow_run}" in err
    assert str(target) in err
    assert json.loads(target.read_text())["run"]["id"] == flow_run
    assert mode(target) == 0o600
    assert mode(target.parent) == 0o700
    assert mode(target.parent.parent) == 0o700


def test_existing_file_is_overwritten_with_mode_0600(wf, flow_run, tmp_path):
    target = tmp_path / "run.json"
    target.write_text("old")
    target.chmod(0o644)
    assert wf("export", flow_run, "--output", str(target)).code == 0
    assert mode(target) == 0o600
    assert json.loads(target.read_text())["format_version"] == 1


def test_tar_holds_run_json_and_every_attempt_log(wf, flow_run, tmp_path):
    target = tmp_path / "exports" / "run.tar.gz"
    code, _, err = wf("export", flow_run, "-f", "tar", "-o", str(target))
    assert code == 0
    assert "3 task executions, 3 log files" in err
    assert mode(target) == 0o600
    assert mode(target.parent) == 0o700
    with tarfile.open(target, "r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert set(members) == {
            "run.json",
            "logs/fetch/attempt_1.log",
            "logs/build/attempt_1.log",
            "logs/__GLOBAL_FAILURE_TRAP__/attempt_1.log",
        }
        assert all(m.isfile() and m.mode == 0o600 for m in members.values())
        payload = json.load(tar.extractfile("run.json"))  # type: ignore[arg-type]
        fetch_log = tar.extractfile("logs/fetch/attempt_1.log").read()  # type: ignore[union-attr]
        build_log = tar.extractfile("logs/build/attempt_1.log").read()  # type: ignore[union-attr]
    assert payload["run"]["id"] == flow_run
    assert fetch_log == b"fetched\n"
    # 'build' printed nothing, so it has no file: an empty log (docs/cli.md#wf-export)
    assert build_log == b""
    assert members["logs/build/attempt_1.log"].size == 0


def test_tar_packs_a_missing_log_as_an_empty_member(wf, flow_run, store, tmp_path):
    (fetch,) = store.list_task_executions(run_id=flow_run, task_id="fetch")
    (build,) = store.list_task_executions(run_id=flow_run, task_id="build")
    Path(fetch.log_path).unlink()
    assert not Path(build.log_path).exists()  # it printed nothing
    target = tmp_path / "run.tgz"
    code, _, err = wf("export", flow_run, "--format", "tar", "--output", str(target))
    assert code == 0
    assert "3 task executions, 3 log files" in err
    with tarfile.open(target) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert set(members) == {
            "run.json",
            "logs/fetch/attempt_1.log",
            "logs/build/attempt_1.log",
            "logs/__GLOBAL_FAILURE_TRAP__/attempt_1.log",
        }
        for name in ("logs/fetch/attempt_1.log", "logs/build/attempt_1.log"):
            assert members[name].isfile()
            assert members[name].mode == 0o600
            assert members[name].size == 0
            assert tar.extractfile(name).read() == b""  # type: ignore[union-attr]


def test_tar_without_output_is_a_usage_error(wf, flow_run):
    code, out, err = wf("export", flow_run, "-f", "tar")
    assert code == 2
    assert out == ""
    assert "Error: --output is required for tar format" in err


def test_unknown_format_is_a_usage_error(wf, flow_run):
    code, _, err = wf("export", flow_run, "-f", "zip")
    assert code == 2
    assert "unsupported format: zip" in err


@pytest.mark.parametrize("fmt", ["json", "tar"])
def test_unknown_run_exits_1_and_writes_nothing(wf, flow_run, tmp_path, fmt):
    target = tmp_path / "x.out"
    code, _, err = wf("export", "nope", "-f", fmt, "-o", str(target))
    assert code == 1
    assert "run not found: nope" in err
    assert not target.exists()


def test_library_payload_uses_the_given_time(store, flow_run):
    now = datetime(2026, 3, 13, 9, 15, 2, 5, tzinfo=UTC)
    payload = export_payload(store, flow_run[:5], now=now)
    assert payload["exported_at"] == "2026-03-13T09:15:02.000005Z"
    assert payload["run"]["id"] == flow_run


def test_private_dirs_get_mode_0700_at_every_level(tmp_path):
    make_private_dirs(tmp_path / "a" / "b" / "c")
    for part in ("a", "a/b", "a/b/c"):
        assert mode(tmp_path / part) == 0o700
    make_private_dirs(tmp_path / "a" / "b")  # existing: fine, untouched
