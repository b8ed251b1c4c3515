"""Safety of ``wf ui``: read-only, GET only, escaped, strict CSP, logs confined to their run."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from web_samples import History

from wf.storage import Store, StoreError


def _pages(history: History) -> list[str]:
    f, s = history.failed, history.success
    return [
        "/",
        "/?partial=1",
        f"/runs/{f}",
        f"/runs/{f}?partial=1",
        f"/runs/{f}/graph",
        f"/runs/{f}/logs/fetch",
        f"/runs/{f}/logs/build",
        f"/diff/{f}/{s}",
        "/workflows",
        "/workflows/sample/graph",
        "/health",
        "/api/runs",
        f"/api/runs/{f}",
        f"/api/runs/{f}/logs/fetch",
        f"/api/diff/{f}/{s}",
        "/api/health",
        "/static/ui.js",
        "/static/graph.js",
        "/nope",
    ]


def test_every_response_carries_the_content_security_policy(client: TestClient, history: History):
    for path in _pages(history):
        r = client.get(path)
        policy = r.headers["content-security-policy"]
        assert policy.startswith("default-src 'self'"), path
        assert "unsafe-inline" not in policy
        assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_every_method_but_get_is_refused(client: TestClient, history: History, method: str):
    for path in ("/", f"/runs/{history.failed}", "/api/runs", "/api/events", "/nope"):
        r = client.request(method, path)
        assert r.status_code == 405, (method, path)
        assert r.headers["allow"] == "GET, HEAD"


def test_head_is_allowed(client: TestClient, history: History):
    assert client.head("/").status_code == 200


class _Markup(HTMLParser):
    """Every element and attribute of a page, and the text of its scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in_script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)


def _parse(html: str) -> _Markup:
    parser = _Markup()
    parser.feed(html)
    parser.close()
    return parser


def _html_pages(client: TestClient, history: History) -> list[tuple[str, str]]:
    out = []
    for path in _pages(history):
        r = client.get(path)
        if r.headers["content-type"].startswith("text/html"):
            out.append((path, r.text))
        elif path.endswith("partial=1") and "/runs/" in path:
            doc = r.json()
            out.append((path + "#head", doc["head"]))
            out.append((path + "#body", doc["body"]))
    return out


def test_hostile_task_text_is_shown_never_run(client: TestClient, history: History):
    """Names, descriptions, commands, variables and log lines that hold markup stay text."""
    for path, html in _html_pages(client, history):
        markup = _parse(html)
        assert "img" not in [tag for tag, _ in markup.tags], path
        for tag, attrs in markup.tags:
            assert not any(name.startswith("on") for name in attrs), (path, tag, attrs)
        for attrs, text in markup.scripts:
            assert attrs.get("src") or attrs.get("type") == "application/json", (path, attrs)
            assert "</script" not in text.lower(), path
    run = client.get(f"/runs/{history.failed}").text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in run  # the variable, escaped
    log = client.get(f"/runs/{history.failed}/logs/fetch").text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in log
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in log


def test_pages_hold_no_inline_script_or_style(client: TestClient, history: History):
    for path, html in _html_pages(client, history):
        markup = _parse(html)
        for attrs, text in markup.scripts:
            if attrs.get("type") != "application/json":
                assert attrs.get("src", "").startswith("/static/"), path
                assert not text.strip(), path
        for tag, attrs in markup.tags:
            assert tag != "style", path
            assert "style" not in attrs, (path, tag)
            if tag == "link":
                assert str(attrs.get("href", "")).startswith("/static/"), path


def test_requests_for_another_host_are_refused(client: TestClient, history: History):
    """A page that rebinds its own DNS name to 127.0.0.1 must not read the UI."""
    r = client.get("/api/runs", headers={"host": "evil.example:8765"})
    assert r.status_code == 400
    assert client.get("/api/runs", headers={"host": "localhost:8765"}).status_code == 200


@pytest.mark.parametrize(
    "node",
    ["..%2F..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "fetch%2F..%2F..%2Fx", "..%5C..%5Cx"],
)
def test_traversal_in_the_node_is_not_a_path(client: TestClient, history: History, node: str):
    for base in (f"/runs/{history.failed}/logs/", f"/api/runs/{history.failed}/logs/"):
        r = client.get(base + node)
        assert r.status_code == 404, base + node
        assert "root:" not in r.text


def _set_log_path(db: Path, run_id: str, task_id: str, path: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE task_executions SET log_path = ? WHERE run_id = ? AND task_id = ?",
            (path, run_id, task_id),
        )


def test_a_log_path_outside_the_runs_log_directory_is_refused(
    client: TestClient, history: History, tmp_path: Path
):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret\n")
    db = history.home / "wf.db"
    other_run = history.success
    for outside in (
        str(secret),
        str(history.home / "logs" / history.failed / ".." / other_run / "greet" / "attempt_1.log"),
        str(history.home / "logs" / history.failed),
    ):
        _set_log_path(db, history.failed, "fetch", outside)
        for path in (
            f"/runs/{history.failed}/logs/fetch",
            f"/api/runs/{history.failed}/logs/fetch",
        ):
            r = client.get(path)
            assert r.status_code == 404, (outside, path)
            assert "top secret" not in r.text
            assert "hello" not in r.text


def test_a_log_symlinked_outside_the_run_is_refused(
    client: TestClient, history: History, tmp_path: Path
):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret\n")
    log = history.home / "logs" / history.failed / "fetch" / "attempt_1.log"
    log.unlink()
    log.symlink_to(secret)
    r = client.get(f"/api/runs/{history.failed}/logs/fetch")
    assert r.status_code == 404
    assert b"top secret" not in r.content


def _fingerprint(db: Path) -> tuple[str, int, int]:
    st = db.stat()
    return hashlib.sha256(db.read_bytes()).hexdigest(), st.st_mtime_ns, st.st_size


def test_browsing_everything_leaves_the_database_untouched(
    make_client: Callable[..., TestClient], history: History, wf: Callable[..., Any]
):
    db = history.home / "wf.db"
    code, _, err = wf("health")  # settle the file (checkpoint) through a normal command
    assert code == 0, err
    before = _fingerprint(db)
    client = make_client()
    for path in _pages(history):
        client.get(path)
    client.post("/api/runs")
    client.delete(f"/api/runs/{history.failed}")
    assert _fingerprint(db) == before


def test_the_store_it_opens_cannot_write(history: History):
    store = Store(history.home / "wf.db", read_only=True)
    try:
        run = store.get_run(history.failed)
        run.error = "changed"
        with pytest.raises(StoreError, match="readonly"):
            store.update_run(run)
        assert store.get_run(history.failed).id == history.failed
    finally:
        store.close()


def test_a_missing_database_is_never_created(make_client: Callable[..., TestClient], wf_home: Path):
    client = make_client()
    for path in ("/", "/api/runs", "/health", "/api/health", "/runs/abc", "/workflows"):
        assert client.get(path).status_code in (200, 404)
    assert not (wf_home / "wf.db").exists()
    assert not os.path.exists(wf_home / "wf.db-wal")


def test_a_database_of_an_older_schema_is_reported_not_migrated(
    make_client: Callable[..., TestClient], wf_home: Path
):
    """The UI cannot migrate (it never writes): it says what to do, and keeps serving."""
    wf_home.mkdir(parents=True)
    db = wf_home / "wf.db"
    shutil.copy(Path(__file__).parent.parent / "storage" / "fixtures" / "wf-v1.db", db)
    before = _fingerprint(db)
    client = make_client()
    r = client.get("/")
    assert r.status_code == 503
    assert "run any wf command to migrate it" in r.text
    assert client.get("/api/runs").json()["error"].endswith("run any wf command to migrate it)")
    ui = client.app.state.ui  # type: ignore[attr-defined]
    assert "schema version 1" in (ui.database_problem() or "")
    assert ui.watcher.poll() == []
    assert "schema version 1" in (ui.watcher.error or "")
    assert _fingerprint(db) == before


@pytest.mark.parametrize("kind", ["a FIFO", "a directory"])
def test_something_else_in_place_of_a_log_reads_as_empty_and_never_blocks(
    client: TestClient, history: History, kind: str
):
    # A task may leave a FIFO or a directory where its log was: the UI opens only regular
    # files, without blocking (docs/architecture.md, "Only regular files, never blocking").
    log = history.home / "logs" / history.success / "greet" / "attempt_1.log"
    log.unlink()
    if kind == "a FIFO":
        os.mkfifo(log)
    else:
        log.mkdir()
    page = client.get(f"/runs/{history.success}/logs/greet")
    assert page.status_code == 200
    assert '<pre class="log" id="log" tabindex="0"></pre>' in page.text
    api = client.get(f"/api/runs/{history.success}/logs/greet")
    assert api.status_code == 200
    assert api.content == b""
    part = client.get(f"/api/runs/{history.success}/logs/greet", params={"offset": -10})
    assert (part.status_code, part.content) == (200, b"")
