"""The JSON API of ``wf ui``: the same documents as the command line's ``--json``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from web_samples import HOSTILE, History


def _cli_json(wf: Callable[..., Any], *argv: str) -> Any:
    code, out, err = wf(*argv)
    assert code in (0, 1), err
    return json.loads(out)


@pytest.mark.parametrize(
    ("params", "argv"),
    [
        ({}, ["-l", "50"]),
        ({"status": "failed"}, ["-s", "failed", "-l", "50"]),
        ({"workflow": "hello", "limit": 1}, ["-w", "hello", "-l", "1"]),
        ({"tag": "nightly", "offset": 1}, ["--tag", "nightly", "-o", "1", "-l", "50"]),
        ({"sort": "workflow"}, ["-S", "workflow", "-l", "50"]),
        (
            {"since": "2000-01-01", "until": "2999-12-31"},
            ["--start-date", "2000-01-01", "--end-date", "2999-12-31", "-l", "50"],
        ),
        ({"min_duration": "1h"}, ["--min-duration", "1h", "-l", "50"]),
    ],
)
def test_api_runs_is_wf_runs_json_with_the_same_filters(
    client: TestClient,
    history: History,
    wf: Callable[..., Any],
    params: dict[str, Any],
    argv: list[str],
):
    r = client.get("/api/runs", params=params)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == _cli_json(wf, "runs", "--json", *argv)


def test_api_runs_defaults_to_50_and_caps_the_page(client: TestClient, history: History):
    assert len(client.get("/api/runs").json()["runs"]) == 3
    assert len(client.get("/api/runs", params={"limit": 0}).json()["runs"]) == 3


def test_api_runs_refuses_what_wf_runs_refuses(client: TestClient, history: History):
    r = client.get("/api/runs", params={"status": "bogus"})
    assert r.status_code == 400
    assert r.json() == {"error": "invalid status: bogus"}
    assert client.get("/api/runs", params={"since": "2020-13-45"}).status_code == 400
    assert client.get("/api/runs", params={"min_duration": "soon"}).status_code == 400


def test_api_run_is_wf_inspect_json(client: TestClient, history: History, wf: Callable[..., Any]):
    for run_id in (history.failed, history.success[:9]):
        r = client.get(f"/api/runs/{run_id}")
        assert r.status_code == 200
        assert r.json() == _cli_json(wf, "inspect", "--json", run_id)


def test_api_run_404s_with_a_json_error(client: TestClient, history: History):
    r = client.get("/api/runs/zzzzzzzz")
    assert r.status_code == 404
    assert r.json() == {"error": "run not found: zzzzzzzz"}
    assert client.get("/api/nothing").status_code == 404


def test_api_diff_is_wf_diff_json(client: TestClient, history: History, wf: Callable[..., Any]):
    r = client.get(f"/api/diff/{history.failed}/{history.success}")
    assert r.json() == _cli_json(wf, "diff", "--json", history.failed, history.success)


def test_api_health_is_wf_health_json(client: TestClient, history: History, wf: Callable[..., Any]):
    assert client.get("/api/health").json() == _cli_json(wf, "health", "--json")


def test_api_log_is_the_raw_bytes_of_the_attempt(client: TestClient, history: History):
    r = client.get(f"/api/runs/{history.failed}/logs/fetch")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    log = next((history.home / "logs" / history.failed / "fetch").glob("attempt_1.log"))
    assert r.content == log.read_bytes()
    assert HOSTILE.encode() in r.content
    assert r.headers["x-wf-attempt"] == "1"
    assert r.headers["x-wf-attempt-state"] == "success"
    assert r.headers["x-wf-log-size"] == str(len(r.content))
    again = client.get(f"/api/runs/{history.failed[:8]}/logs/fetch", params={"attempt": 1})
    assert again.content == r.content


def test_api_log_reads_parts_and_tails(client: TestClient, history: History):
    whole = client.get(f"/api/runs/{history.failed}/logs/build").content
    assert whole.startswith(b"building")
    part = client.get(f"/api/runs/{history.failed}/logs/build", params={"offset": 2, "length": 4})
    assert part.content == whole[2:6]
    assert part.headers["x-wf-log-start"] == "2"
    tail = client.get(f"/api/runs/{history.failed}/logs/build", params={"offset": -5})
    assert tail.content == whole[-5:]
    assert tail.headers["x-wf-log-start"] == str(len(whole) - 5)
    bad = client.get(f"/api/runs/{history.failed}/logs/build", params={"length": -1})
    assert bad.status_code == 400


def test_api_log_of_an_attempt_without_a_file_is_empty(client: TestClient, history: History):
    log = history.home / "logs" / history.success / "greet" / "attempt_1.log"
    log.unlink()
    r = client.get(f"/api/runs/{history.success}/logs/greet")
    assert r.status_code == 200
    assert r.content == b""


def test_api_log_404s_for_unknown_task_or_attempt(client: TestClient, history: History):
    assert client.get(f"/api/runs/{history.failed}/logs/nope").status_code == 404
    r = client.get(f"/api/runs/{history.failed}/logs/build", params={"attempt": 9})
    assert r.status_code == 404
    assert "no attempt 9" in r.json()["error"]


def test_big_logs_are_paged_tail_first(client: TestClient, history: History, tmp_path: Path):
    log = history.home / "logs" / history.success / "greet" / "attempt_1.log"
    lines = [f"line {i:06d}\n".encode() for i in range(20000)]  # 240 KB
    log.write_bytes(b"".join(lines))
    page = client.get(f"/runs/{history.success}/logs/greet").text
    assert "line 019999" in page
    assert "line 000000" not in page  # only the last chunk is in the page
    assert 'id="log-earlier"' in page
    assert len(page) < 100_000


def test_a_big_log_is_streamed_whole_and_in_parts(client: TestClient, history: History):
    log = history.home / "logs" / history.success / "greet" / "attempt_1.log"
    data = b"".join(f"{i:07d} {'x' * 40}\n".encode() for i in range(80_000))  # 3.9 MB
    log.write_bytes(data)
    whole = client.get(f"/api/runs/{history.success}/logs/greet")
    assert whole.content == data
    assert whole.headers["content-length"] == str(len(data))
    tail = client.get(
        f"/api/runs/{history.success}/logs/greet", params={"offset": -100_000, "length": 70_000}
    )
    assert tail.content == data[-100_000:-30_000]
    assert tail.headers["x-wf-log-size"] == str(len(data))
    beyond = client.get(f"/api/runs/{history.success}/logs/greet", params={"offset": 10**9})
    assert beyond.content == b""
