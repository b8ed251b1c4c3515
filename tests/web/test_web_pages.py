"""The HTML pages of ``wf ui``, in-process: content, filters, paging, prefixes and 404s."""

from __future__ import annotations

import os
import re
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient
from web_samples import History


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_history_lists_every_run_with_its_columns_and_summary(client: TestClient, history: History):
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    for run_id in history.runs:
        assert f'href="/runs/{run_id}"' in r.text
        assert run_id[:8] in r.text
    text = _text(r.text)
    assert "Total runs" in text
    assert "Success rate" in text
    assert "Showing 1–3 of 3 runs" in text
    assert "FAILED" in text
    assert "SUCCESS" in text


def test_history_filters_by_status_workflow_and_tag(client: TestClient, history: History):
    failed = client.get("/", params={"status": "failed"}).text
    assert history.failed in failed
    assert history.success not in failed
    hello = client.get("/", params={"workflow": "hello"}).text
    assert history.failed not in hello
    assert history.success in hello
    tagged = client.get("/", params={"tag": "nightly"}).text
    assert history.failed not in tagged
    assert history.success in tagged
    none = client.get("/", params={"workflow": "nope"}).text
    assert "No runs found matching the criteria" in none


def test_history_dates_bound_the_start_day(client: TestClient, history: History):
    assert history.success in client.get("/", params={"since": "2000-01-01"}).text
    assert "No runs found" in client.get("/", params={"until": "2000-01-01"}).text


def test_history_pages_keep_the_filters(client: TestClient, history: History):
    first = client.get("/", params={"limit": 2}).text
    assert "Showing 1–2 of 3 runs" in _text(first)
    assert 'href="/?limit=2&amp;offset=2"' in first
    second = client.get("/", params={"limit": 2, "offset": 2}).text
    assert "Showing 3–3 of 3 runs" in _text(second)
    assert history.runs[2] in second
    assert history.runs[0] not in second
    assert 'rel="prev"' in second


def test_history_rejects_bad_parameters_with_400(client: TestClient, history: History):
    for params in (
        {"status": "bogus"},
        {"since": "yesterday"},
        {"limit": "ten"},
        {"offset": "-1"},
        {"sort": "colour"},
    ):
        r = client.get("/", params=params)
        assert r.status_code == 400, params
        assert "Bad request" in r.text


def test_history_partial_is_the_live_table_only(client: TestClient, history: History):
    r = client.get("/", params={"partial": 1})
    assert r.status_code == 200
    assert "<html" not in r.text
    assert history.failed in r.text


def test_search_opens_a_run_by_prefix_or_narrows_the_workflow(client: TestClient, history: History):
    r = client.get("/", params={"q": history.failed[:8]})
    assert r.status_code == 303
    assert r.headers["location"] == f"/runs/{history.failed}"
    r = client.get("/", params={"q": "hel"})
    assert r.status_code == 303
    assert r.headers["location"] == "/?workflow=hello"
    assert client.get("/", params={"q": "zzz-nothing"}).status_code == 404


def test_run_page_shows_the_failure_summary_first(client: TestClient, history: History):
    r = client.get(f"/runs/{history.failed}")
    assert r.status_code == 200
    text = _text(r.text)
    root = text.index("Root cause:")
    assert root < text.index("Run details") < text.index("Tasks")
    assert "Root cause: build — exit code 3 (1 attempt)" in " ".join(text.split())
    assert "oops" in text  # the last lines of the root cause's log
    assert "Not started:" in text
    assert "publish" in text
    assert f"wf resume {history.failed[:8]}" in text
    assert f'src="/runs/{history.failed}/graph"' in r.text


def test_run_page_lists_tasks_variables_and_audit(client: TestClient, history: History):
    r = client.get(f"/runs/{history.failed}")
    text = _text(r.text)
    for expected in ("fetch", "build", "exit status 3", "evil", "run_started", "task_failed"):
        assert expected in text
    assert f'href="/runs/{history.failed}/logs/build"' in r.text


def test_successful_run_has_no_failure_summary(client: TestClient, history: History):
    text = _text(client.get(f"/runs/{history.success}").text)
    assert "Root cause" not in text
    assert "SUCCESS" in text


def test_run_ids_may_be_prefixes_everywhere(client: TestClient, history: History):
    prefix = history.failed[:10]
    assert history.failed in client.get(f"/runs/{prefix}").text
    assert client.get(f"/runs/{prefix}/graph").status_code == 200
    assert client.get(f"/runs/{prefix}/logs/build").status_code == 200
    assert client.get(f"/diff/{prefix}/{history.success[:10]}").status_code == 200


def test_run_partial_is_json_with_the_node_states(client: TestClient, history: History):
    doc = client.get(f"/runs/{history.failed}", params={"partial": 1}).json()
    assert doc["id"] == history.failed
    assert doc["status"] == "failed"
    assert doc["terminal"] is True
    assert doc["states"] == {"fetch": "success", "build": "failed"}
    assert "Root cause" in doc["head"]


def test_run_graph_is_the_html_graph_coloured_by_state_with_linked_assets(
    client: TestClient, history: History
):
    r = client.get(f"/runs/{history.failed}/graph")
    assert r.status_code == 200
    assert 'class="node k-root st-success"' in r.text
    assert "st-failed" in r.text
    assert '<link rel="stylesheet" href="/static/graph.css">' in r.text
    assert '<script src="/static/graph.js"></script>' in r.text
    assert "<style>" not in r.text
    assert re.search(r"<script>(?!\s*$)", r.text) is None  # no inline code
    assert "Content-Security-Policy" not in r.text  # the header sets it


def test_log_page_shows_the_latest_attempt_and_its_tail(client: TestClient, history: History):
    r = client.get(f"/runs/{history.failed}/logs/build")
    assert r.status_code == 200
    text = _text(r.text)
    assert "building" in text
    assert "oops" in text
    assert "Attempt 1" in text
    assert 'data-follow="0"' in r.text
    assert (
        client.get(f"/runs/{history.failed}/logs/build", params={"attempt": 1}).status_code == 200
    )


def test_log_page_404s_for_unknown_task_attempt_and_run(client: TestClient, history: History):
    assert client.get(f"/runs/{history.failed}/logs/nope").status_code == 404
    assert client.get(f"/runs/{history.failed}/logs/publish").status_code == 404  # never ran
    r = client.get(f"/runs/{history.failed}/logs/build", params={"attempt": 2})
    assert r.status_code == 404
    assert (
        client.get(f"/runs/{history.failed}/logs/build", params={"attempt": "x"}).status_code == 400
    )
    assert client.get("/runs/zzzzzzzz/logs/build").status_code == 404


def test_diff_page_compares_two_runs(client: TestClient, history: History):
    r = client.get(f"/diff/{history.failed}/{history.success}")
    assert r.status_code == 200
    text = _text(r.text)
    assert "Result: runs differ" in text
    assert "fetch" in text
    assert "greet" in text
    assert "only_a" in text
    assert "only_b" in text
    hello = [rid for rid in history.runs if rid != history.failed]
    same = _text(client.get(f"/diff/{hello[0]}/{hello[1]}").text)
    assert "Result: runs are identical" in same


def test_workflows_page_lists_each_workflow_with_graph_and_last_runs(
    client: TestClient, history: History
):
    r = client.get("/workflows")
    assert r.status_code == 200
    text = _text(r.text)
    assert "sample" in text
    assert "hello" in text
    assert "2 runs" in text
    assert "1 runs" in text
    assert 'src="/workflows/hello/graph"' in r.text
    graph = client.get("/workflows/hello/graph")
    assert graph.status_code == 200
    assert "greet" in graph.text
    assert client.get("/workflows/nope/graph").status_code == 404


def test_workflow_graph_never_takes_a_path_from_the_request(client: TestClient, history: History):
    for name in ("..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "sample.toml"):
        assert client.get(f"/workflows/{name}/graph").status_code == 404


def test_health_page_shows_the_report(client: TestClient, history: History):
    r = client.get("/health")
    assert r.status_code == 200
    text = _text(r.text)
    assert "Database" in text
    assert "2/2 valid" in text
    assert "System is healthy" in text


def test_unknown_urls_and_runs_are_404(client: TestClient, history: History):
    assert client.get("/nope").status_code == 404
    assert client.get("/runs/zzzzzzzz").status_code == 404
    assert client.get(f"/diff/{history.failed}/zzzzzzzz").status_code == 404
    assert client.get("/static/nope.js").status_code == 404


def test_every_page_links_only_assets_the_ui_serves(client: TestClient, history: History):
    pages = [
        "/",
        f"/runs/{history.failed}",
        f"/runs/{history.failed}/graph",
        f"/runs/{history.failed}/logs/build",
        f"/diff/{history.failed}/{history.success}",
        "/workflows",
        "/workflows/sample/graph",
        "/health",
    ]
    for path in pages:
        html = client.get(path).text
        for ref in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert ref.startswith("/"), (path, ref)  # nothing from another origin
            if ref.startswith("/static/"):
                assert client.get(ref).status_code == 200, ref


def test_ui_without_a_database_shows_an_empty_history(make_client: Callable[..., Any]):
    client = make_client()
    r = client.get("/")
    assert r.status_code == 200
    assert "No runs found matching the criteria" in r.text
    assert client.get("/api/runs").json()["summary"]["total_runs"] == 0
    assert client.get("/runs/abc").status_code == 404
    assert client.get("/health").status_code == 200


def test_an_up_to_date_task_shows_as_cached(
    make_client: Callable[..., Any], wf: Callable[..., Any], wf_home: Path, tmp_path: Path
):
    work = tmp_path / "work"
    work.mkdir()
    source = work / "in.txt"
    source.write_text("data\n")
    old = time.time() - 3600  # outside the racy window of content checks
    os.utime(source, (old, old))
    workflows = wf_home / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "inc.toml").write_text(
        textwrap.dedent(
            f"""
            name = "inc"
            [tasks.copy]
            cmd = "cp in.txt out.txt"
            working_dir = "{work}"
            inputs = ["in.txt"]
            outputs = ["out.txt"]
            [tasks.show]
            cmd = "cat out.txt"
            working_dir = "{work}"
            depends_on = ["copy"]
            """
        )
    )
    assert wf("run", "inc", "--plain").code == 0
    os.utime(work / "out.txt", (old, old))
    assert wf("run", "inc", "--plain").code == 0
    client = make_client()
    newest = client.get("/api/runs").json()["runs"][0]["id"]
    doc = client.get(f"/runs/{newest}", params={"partial": 1}).json()
    assert doc["states"] == {"copy": "cached", "show": "success"}
    assert "≡ cached" in doc["body"]
    graph = client.get(f"/runs/{newest}/graph").text
    assert "st-cached" in graph


def test_matrix_nodes_have_working_log_links(
    make_client: Callable[..., Any], wf: Callable[..., Any], wf_home: Path
):
    """Expansion IDs (``fetch[region=eu.west]``) are one URL segment, percent-encoded."""
    workflows = wf_home / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "fan.toml").write_text(
        textwrap.dedent(
            """
            name = "fan"
            [tasks.fetch]
            cmd = "echo region {{.region}}"
            matrix = { region = ["eu.west", "us-east"] }
            """
        )
    )
    assert wf("run", "fan", "--plain").code == 0
    client = make_client()
    run_id = client.get("/api/runs").json()["runs"][0]["id"]
    page = client.get(f"/runs/{run_id}").text
    hrefs = re.findall(r'href="(/runs/[^"]+/logs/[^"]+)"', page)
    assert f"/runs/{run_id}/logs/fetch%5Bregion%3Deu.west%5D" in hrefs
    for href in hrefs:
        r = client.get(href)
        assert r.status_code == 200, href
        assert "region " in r.text
    raw = client.get(f"/api/runs/{run_id}/logs/fetch%5Bregion%3Dus-east%5D")
    assert raw.content == b"region us-east\n"
    assert client.get(f"/api/runs/{run_id}/logs/fetch[region=us-east]").content == raw.content
