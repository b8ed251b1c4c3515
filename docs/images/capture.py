"""Regenerate the screenshots of docs/ui.md: python docs/images/capture.py (needs chromium).

It records a few example runs in a temporary WF_HOME (one of them failing), starts
``wf ui --port 0`` over it and photographs the main pages with the system chromium.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DEPLOY = """
name = "site-release"
description = "Build, test and publish the documentation site"
tags = ["release"]

[tasks.revision]
cmd = "echo v2.4.1"
register = "version"

[tasks.build]
name = "Build site"
cmd = "echo 'building {{.version}}'; echo 'error: page <index.md> links to a missing file' >&2; exit 2"
depends_on = ["revision"]
retries = 1

[tasks.lint]
cmd = "echo linting; echo ok"
depends_on = ["revision"]

[tasks.publish]
cmd = "echo publishing"
depends_on = ["build", "lint"]

[tasks.linkcheck]
cmd = "echo checking links"
depends_on = ["publish"]
"""


LIVE = """
name = "nightly-report"
description = "Fetch three sources in parallel, then build and publish the report"

[tasks.fetch]
cmd = "echo fetching {{.source}}"
matrix = { source = ["sales", "stock", "web"] }

[tasks.build]
cmd = "while [ ! -e '%s' ]; do sleep 0.05; done; echo built"
depends_on = ["fetch"]

[tasks.publish]
cmd = "echo published"
depends_on = ["build"]
"""


def wf(home: Path, *args: str) -> None:
    env = dict(os.environ, WF_HOME=str(home))
    subprocess.run([sys.executable, "-m", "wf", *args], env=env, capture_output=True, check=False)


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="wf-shots-")) / "home"
    workflows = home / "workflows"
    workflows.mkdir(parents=True)
    for name in ("hello", "etl", "fan-out", "report"):
        shutil.copy(ROOT / "examples" / f"{name}.toml", workflows)
    (workflows / "site-release.toml").write_text(textwrap.dedent(DEPLOY))
    for name in ("hello", "etl", "fan-out", "hello", "report", "site-release", "etl"):
        wf(home, "run", name, "--plain", "-j", "4")
    env = dict(os.environ, WF_HOME=str(home))
    server = subprocess.Popen(
        [sys.executable, "-m", "wf", "ui", "--port", "0"], env=env, stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    url = re.search(r"(http://\S+/)", server.stdout.readline()).group(1)  # type: ignore[union-attr]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 820})
            page.goto(url)
            page.screenshot(path=OUT / "ui-history.png")
            page.locator("table.runs tbody tr:has-text('site-release') a.mono").click()
            page.wait_for_url("**/runs/*")
            page.wait_for_timeout(800)
            page.screenshot(path=OUT / "ui-run-failed.png", full_page=True)
            page.goto(page.url + "/logs/build")
            page.screenshot(path=OUT / "ui-log.png")
            gate = home.parent / "gate"
            (workflows / "nightly-report.toml").write_text(textwrap.dedent(LIVE % gate))
            live = subprocess.Popen(
                [sys.executable, "-m", "wf", "run", "nightly-report", "--plain", "-j", "4"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            page.goto(url)
            page.locator("table.runs tbody tr:has-text('nightly-report') a.mono").click()
            page.wait_for_url("**/runs/*")
            graph = page.frame_locator("#graph-frame")
            graph.locator(".node.st-running").first.wait_for()
            page.wait_for_timeout(500)
            page.screenshot(path=OUT / "ui-run-live.png")
            gate.touch()
            live.wait(60)
            page.goto(url + "workflows")
            page.screenshot(path=OUT / "ui-workflows.png")
            page.goto(url + "health")
            page.screenshot(path=OUT / "ui-health.png")
            phone = browser.new_context(
                viewport={"width": 390, "height": 844}, device_scale_factor=2,
                color_scheme="dark", is_mobile=True,
            ).new_page()
            phone.goto(url)
            phone.screenshot(path=OUT / "ui-phone-dark.png")
            browser.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(10)
        shutil.rmtree(home.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
