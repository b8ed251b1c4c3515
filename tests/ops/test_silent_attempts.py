"""An attempt that prints nothing has no log file; every reader shows it as an empty log.

docs/executors.md ("How a task runs"): the log file is created on the first output byte, and
``log_path`` is recorded either way. ``wf logs`` (whole run, one task, ``--attempt``, ``-n 0``,
``-f``), the failure summaries (``wf run``'s and ``wf.failure``'s), ``wf export`` and the web UI
must print for a missing file exactly what they print for an empty one.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wf.config import load_config
from wf.dag.cached import dag_from_cache
from wf.failure import failure_summary
from wf.storage import Store

WriteWorkflow = Callable[..., Path]
RunWorkflow = Callable[..., str]

QUIET = """\
    name = "quiet"

    [tasks.setup]
    cmd = "true"

    [tasks.check]
    cmd = "exit 3"
    retries = 1
    depends_on = ["setup"]
    """

#: The read-only commands and what they are asked.
READERS = [
    ("logs", "{run}"),
    ("logs", "{run}", "-n", "0"),
    ("logs", "{run}", "check"),
    ("logs", "{run}", "check", "--attempt", "2"),
    ("logs", "{run}", "-f"),
    ("logs", "{run}", "setup", "-f"),
]


@pytest.fixture
def quiet_run(write_workflow: WriteWorkflow, run_workflow: RunWorkflow) -> str:
    return run_workflow(write_workflow(QUIET, name="quiet"), expect=1)


def _logs(store: Store, run_id: str) -> list[Path]:
    rows = store.list_task_executions(run_id=run_id)
    assert [(r.task_id, r.attempt) for r in rows] == [("setup", 1), ("check", 1), ("check", 2)]
    return [Path(r.log_path) for r in rows if r.log_path]


def test_no_file_is_created_and_the_log_paths_are_recorded(
    quiet_run: str, store: Store, wf_home: Path
) -> None:
    logs = _logs(store, quiet_run)
    assert logs == [
        wf_home / "logs" / quiet_run / node / f"attempt_{n}.log"
        for node, n in (("setup", 1), ("check", 1), ("check", 2))
    ]
    assert not any(log.exists() for log in logs)
    assert all(log.parent.is_dir() for log in logs)


def test_wf_logs_shows_a_missing_file_as_an_empty_log(
    wf: Callable[..., Any], quiet_run: str, store: Store
) -> None:
    missing = [wf(*(a.format(run=quiet_run) for a in args)) for args in READERS]
    for log in _logs(store, quiet_run):
        log.write_bytes(b"")
    empty = [wf(*(a.format(run=quiet_run) for a in args)) for args in READERS]
    assert missing == empty
    for code, out, err in missing:
        assert (code, err) == (0, "")
        assert "No logs recorded" not in out
        assert "Unable to read" not in out
    whole = missing[0].out.splitlines()
    assert [line for line in whole if line] == [
        f"=== Logs for Run '{quiet_run}' (quiet) ===",
        "[setup] Attempt 1 | Status: success | Exit Code: 0",
        "[check] Attempt 1 | Status: failed | Exit Code: 3",
        "[check] Last Error: exit status 3",
        "[check] Attempt 2 | Status: failed | Exit Code: 3",
        "[check] Last Error: exit status 3",
    ]
    assert missing[3].out.endswith("--- Output ---\n--- Error ---\nexit status 3\n")
    assert missing[4].out == ""  # -f on a finished run: nothing was written


def test_the_run_summary_shows_the_log_path_and_no_lines(
    wf: Callable[..., Any], write_workflow: WriteWorkflow, store: Store
) -> None:
    code, out, err = wf("run", str(write_workflow(QUIET, name="quiet")), "--plain")
    assert code == 1
    assert "Traceback" not in out + err
    (run,) = store.list_runs()
    log = _logs(store, run.id)[-1]
    lines = out.splitlines()
    at = lines.index(f"Log:        {log}")
    assert lines[at - 1] == "Error:      exit status 3"
    assert not lines[at + 1].startswith("  |")


def test_the_failure_summary_has_no_last_lines(quiet_run: str, store: Store) -> None:
    run = store.get_run(quiet_run)
    cache = store.get_dag_cache(run.id)
    assert cache is not None
    rows = store.list_task_executions(run_id=run.id)
    summary = failure_summary(run, dag_from_cache(cache.dag_json), rows)
    assert summary is not None
    assert summary.root_cause == "check"
    assert summary.log_path == str(_logs(store, run.id)[-1])
    assert summary.last_lines == []
    assert summary.attempts == 2


def test_export_packs_an_empty_member_for_each_missing_log(
    wf: Callable[..., Any], quiet_run: str, store: Store, tmp_path: Path
) -> None:
    code, out, _ = wf("export", quiet_run)
    assert code == 0
    tasks = json.loads(out)["tasks"]
    assert [t["log_path"] for t in tasks] == [str(p) for p in _logs(store, quiet_run)]
    target = tmp_path / "run.tar.gz"
    code, _, err = wf("export", quiet_run, "-o", str(target))
    assert code == 0
    assert "3 task executions, 3 log files" in err
    with tarfile.open(target) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert sorted(members) == [
            "logs/check/attempt_1.log",
            "logs/check/attempt_2.log",
            "logs/setup/attempt_1.log",
            "run.json",
        ]
        for name, member in members.items():
            if name != "run.json":
                assert member.isfile()
                assert member.size == 0
                assert member.mode == 0o600


def test_the_web_ui_shows_an_empty_log(quiet_run: str) -> None:
    pytest.importorskip("starlette", reason="the web UI needs the 'ui' extra")
    pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx (the 'dev' extra)")
    from starlette.testclient import TestClient

    from wf.web.app import create_app

    with TestClient(create_app(load_config()), base_url="http://127.0.0.1:8765") as client:
        api = client.get(f"/api/runs/{quiet_run}/logs/check", params={"attempt": 1})
        assert api.status_code == 200
        assert api.content == b""
        assert api.headers["x-wf-log-size"] == "0"
        page = client.get(f"/runs/{quiet_run}/logs/check")
        assert page.status_code == 200
        assert '<pre class="log" id="log" tabindex="0"></pre>' in page.text
        assert "(No output recorded)" in page.text
        run_page = client.get(f"/runs/{quiet_run}")
        assert run_page.status_code == 200
        assert "Root cause" in run_page.text
        assert '<pre class="tail">' not in run_page.text
