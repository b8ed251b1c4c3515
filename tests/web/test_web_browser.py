"""``wf ui`` in a real browser: Debian's chromium driven by Playwright, over a real server.

The page must list the history, show a run started while it is open and colour its nodes
without a reload, open a failed task's log on a click, make no request beyond the UI's own
address, and log no console error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from web_samples import HELLO, UiServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(
        "chromium is not installed (apt-get install -y chromium; .ci/run installs it)",
        allow_module_level=True,
    )
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (dev extra)")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000

FAILING = """
name = "broken"

[tasks.prepare]
cmd = "echo preparing"

[tasks.build]
cmd = "echo 'compiler says <b>no</b>'; exit 2"
depends_on = ["prepare"]
"""

GATED = """
name = "gated"

[tasks.wait]
cmd = "while [ ! -e '{gate}' ]; do sleep 0.05; done; echo opened"

[tasks.work]
cmd = "echo working"
depends_on = ["wait"]

[tasks.finish]
cmd = "echo finished"
depends_on = ["work"]
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@dataclass
class Watched:
    """A page and everything it did: requests, console errors, page errors, navigations."""

    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    navigations: list[str] = field(default_factory=list)

    def check_clean(self, base: str) -> None:
        """Every request went to the UI's own address, and nothing logged an error."""
        strays = [u for u in self.requests if not u.startswith(base)]
        assert strays == [], f"requests beyond {base}: {strays}"
        assert self.errors == []


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    seen = Watched(page)
    context.on("request", lambda request: seen.requests.append(request.url))
    page.on(
        "console",
        lambda message: (
            seen.errors.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: seen.errors.append(f"page error: {error}"))
    page.on(
        "framenavigated",
        lambda frame: seen.navigations.append(frame.url) if frame == page.main_frame else None,
    )
    yield seen
    context.close()


def _wf(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, WF_HOME=str(home))
    return subprocess.run(
        [sys.executable, "-m", "wf", *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def home(wf_home: Path) -> Path:
    workflows = wf_home / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "hello.toml").write_text(HELLO)
    (workflows / "broken.toml").write_text(textwrap.dedent(FAILING))
    assert _wf(wf_home, "run", "hello", "--plain").returncode == 0
    assert _wf(wf_home, "run", "broken", "--plain").returncode == 1
    return wf_home


def _node(frame: Any, node_id: str) -> Any:
    return frame.locator(f'.node:has(text.nid:text-is("{node_id}"))')


def test_a_run_started_while_the_page_is_open_appears_and_lights_up_live(
    home: Path, start_ui: Callable[..., UiServer], watched: Watched, tmp_path: Path
):
    server = start_ui()
    page = watched.page
    page.goto(server.url)
    rows = page.locator("table.runs tbody tr")
    assert rows.count() == 2
    assert page.locator("table.runs").inner_text().count("hello") == 1
    page.wait_for_selector("#live-dot:not([hidden])")  # the event stream is open

    gate = tmp_path / "gate"
    (home / "workflows" / "gated.toml").write_text(textwrap.dedent(GATED.format(gate=gate)))
    env = dict(os.environ, WF_HOME=str(home))
    run = subprocess.Popen(
        [sys.executable, "-m", "wf", "run", "gated", "--plain"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        link = page.locator("table.runs tbody tr:has-text('gated') a.mono")
        link.wait_for()  # appeared without a reload
        assert page.locator("table.runs tbody tr:has-text('gated')").get_by_text("RUNNING").count()
        assert watched.navigations == [server.url]

        link.click()
        page.wait_for_url("**/runs/*")
        arrived = len(watched.navigations)
        frame = page.frame_locator("#graph-frame")
        _node(frame, "wait").and_(frame.locator(".st-running")).wait_for()
        assert _node(frame, "finish").get_attribute("class").find("st-") == -1
        gate.touch()
        for node_id in ("wait", "work", "finish"):
            _node(frame, node_id).and_(frame.locator(".st-success")).wait_for()
        page.locator("#run-head .badge.s-success").first.wait_for()
        assert frame.locator(".legend i.sw.st-running").count() == 0  # no stale counts
        assert len(watched.navigations) == arrived  # no reload
        assert run.wait(60) == 0
    finally:
        if run.poll() is None:
            run.kill()
        run.wait()
        assert run.stderr is not None
        run.stderr.close()
    watched.check_clean(server.url)
    assert server.stop() == 0


def test_clicking_a_failed_node_opens_its_log(
    home: Path, start_ui: Callable[..., UiServer], watched: Watched
):
    server = start_ui()
    page = watched.page
    page.goto(server.url)
    page.locator("table.runs tbody tr:has-text('broken') a.mono").click()
    page.wait_for_url("**/runs/*")
    assert "Root cause: build" in page.locator("section.failure").inner_text()
    frame = page.frame_locator("#graph-frame")
    failed = _node(frame, "build")
    failed.and_(frame.locator(".st-failed")).wait_for()
    failed.click()
    page.wait_for_url("**/logs/build")
    log = page.locator("#log").inner_text()
    assert "compiler says <b>no</b>" in log  # shown as text
    assert page.locator("#log b").count() == 0
    watched.check_clean(server.url)
    assert server.stop() == 0


def test_a_running_attempts_log_is_followed_live(
    home: Path, start_ui: Callable[..., UiServer], watched: Watched, tmp_path: Path
):
    gate = tmp_path / "gate"
    (home / "workflows" / "gated.toml").write_text(textwrap.dedent(GATED.format(gate=gate)))
    server = start_ui()
    env = dict(os.environ, WF_HOME=str(home))
    run = subprocess.Popen(
        [sys.executable, "-m", "wf", "run", "gated", "--plain"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        page = watched.page
        page.goto(server.url)
        page.locator("table.runs tbody tr:has-text('gated') a.mono").click()
        page.wait_for_url("**/runs/*")
        frame = page.frame_locator("#graph-frame")
        _node(frame, "wait").and_(frame.locator(".st-running")).wait_for()
        page.goto(page.url + "/logs/wait")
        page.locator("#log-status").get_by_text("Following live output").wait_for()
        gate.touch()
        page.locator("#log").get_by_text("opened").wait_for()
        page.locator("#log-status").get_by_text("The attempt ended (success).").wait_for()
        assert run.wait(60) == 0
    finally:
        if run.poll() is None:
            run.kill()
        run.wait()
    watched.check_clean(server.url)
    assert server.stop() == 0


def test_a_big_log_shows_its_tail_first_and_loads_earlier_parts_on_request(
    home: Path, start_ui: Callable[..., UiServer], watched: Watched
):
    run_dir = next(p for p in (home / "logs").iterdir() if (p / "prepare").is_dir())
    log = run_dir / "prepare" / "attempt_1.log"
    log.write_bytes(b"".join(f"line {i:06d}\n".encode() for i in range(15_000)))  # 180 KB
    server = start_ui()
    page = watched.page
    page.goto(f"{server.url}runs/{run_dir.name}/logs/prepare")
    text = page.locator("#log").inner_text()
    assert "line 014999" in text
    assert "line 000000" not in text
    button = page.locator("#log-earlier")
    while button.count():
        button.click()
        page.wait_for_function(
            "() => { const b = document.getElementById('log-earlier'); return !b || !b.disabled; }"
        )
    lines = page.locator("#log").inner_text().splitlines()
    assert lines == [f"line {i:06d}" for i in range(15_000)]
    watched.check_clean(server.url)
    assert server.stop() == 0
