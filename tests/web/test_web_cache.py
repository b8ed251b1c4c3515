"""The web UI shows incremental runs (docs/caching.md): up-to-date tasks are ``cached``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from starlette.testclient import TestClient

BUILD = """
name = "cbuild"

[tasks.build]
cmd = "mkdir -p out && cat src/*.c > out/app && echo flavour=plain >> $WF_OUTPUT"
inputs = ["src/*.c"]
outputs = ["out/app"]

[tasks.ship]
depends_on = ["build"]
cmd = "echo shipping {{.flavour}}"
"""


class CachedRuns(NamedTuple):
    first: str  # everything ran
    second: str  # build up to date, ship ran


@pytest.fixture
def cached_runs(wf: Callable[..., Any], workdir: Path) -> CachedRuns:
    (workdir / "src").mkdir()
    (workdir / "src/a.c").write_text("int a;\n")
    (workdir / "build.toml").write_text(BUILD)
    ids = []
    for _ in range(2):
        code, out, err = wf("run", "build.toml", "--json")
        assert code == 0, err
        ids.append(json.loads(out)["run"]["id"])
    return CachedRuns(*ids)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_run_page_lists_an_up_to_date_task_as_cached(
    make_client: Callable[..., TestClient], cached_runs: CachedRuns
) -> None:
    client = make_client()
    html = client.get(f"/runs/{cached_runs.second}").text
    assert '<span class="badge s-cached">≡ cached</span>' in html
    # No log link for a node without an attempt; the run that recorded it is linked.
    assert f'href="/runs/{cached_runs.second}/logs/build"' not in html
    assert f'href="/runs/{cached_runs.second}/logs/ship"' in html
    assert f'href="/runs/{cached_runs.first}"' in html
    text = _text(html)
    assert f"up to date (recorded by run {cached_runs.first[:8]} )" in text
    assert "0 skipped (attempts), 1 up to date" in text


def test_the_live_states_and_the_graph_colour_it_cached(
    make_client: Callable[..., TestClient], cached_runs: CachedRuns
) -> None:
    client = make_client()
    sections = client.get(f"/runs/{cached_runs.second}", params={"partial": 1}).json()
    assert sections["states"] == {"build": "cached", "ship": "success"}
    first = client.get(f"/runs/{cached_runs.first}", params={"partial": 1}).json()
    assert first["states"] == {"build": "success", "ship": "success"}
    graph = client.get(f"/runs/{cached_runs.second}/graph").text
    assert re.search(r'class="node[^"]*\bst-cached\b', graph)
    assert ".node.st-cached rect" in client.get("/static/graph.css").text  # its colour


def test_history_diff_api_and_health_count_cached_tasks(
    make_client: Callable[..., TestClient], cached_runs: CachedRuns
) -> None:
    client = make_client()
    history = client.get("/").text
    assert "<th>Cached</th>" in history
    row = next(r for r in re.split(r"<tr\b", history) if cached_runs.second[:8] in r)
    assert _text(row).split()[-4:] == ["1", "0", "0", "1"]  # success, failed, skipped, cached
    diff = _text(client.get(f"/diff/{cached_runs.first}/{cached_runs.second}").text)
    assert "cached up to date" in diff
    assert "Cached 0 1 ~" in diff
    api = client.get(f"/api/runs/{cached_runs.second}").json()
    assert api["run"]["tasks_cached"] == 1
    assert [hit["task_id"] for hit in api["cached"]] == ["build"]
    assert api["cached"][0]["source_run_id"] == cached_runs.first
    runs = client.get("/api/runs").json()["runs"]
    assert {r["id"]: r["tasks_cached"] for r in runs} == {
        cached_runs.first: 0,
        cached_runs.second: 1,
    }
    assert client.get("/api/health").json()["cache"]["records"] == 1
    assert "1 record(s) of 1 workflow(s)" in _text(client.get("/health").text)
