"""``wf ui`` as a command: the address line, a free port, Ctrl+C, the extra, the host warning."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from web_samples import HELLO, UiServer

from wf.cli.commands.ui import is_loopback


def test_port_0_serves_on_a_free_port_and_ctrl_c_exits_0(
    start_ui: Callable[..., UiServer], wf_home: Path
):
    server = start_ui()
    assert server.url.startswith("http://127.0.0.1:")
    assert not server.url.endswith(":0/")
    r = httpx.get(server.url + "api/runs", timeout=10)
    assert r.status_code == 200
    assert r.json()["summary"]["total_runs"] == 0
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    assert server.stop() == 0
    assert server.process.stderr.read() == ""
    assert not (wf_home / "wf.db").exists()  # the UI never creates the database


def test_a_run_shows_up_as_a_server_sent_event_within_a_second(
    start_ui: Callable[..., UiServer], wf_home: Path
):
    workflows = wf_home / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "hello.toml").write_text(HELLO)
    server = start_ui()
    events: list[dict[str, Any]] = []
    connected = threading.Event()
    finished = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", server.url + "api/events", timeout=30) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            connected.set()
            kind = ""
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "run":
                    events.append(json.loads(line[6:]))
                    if events[-1]["status"] == "success":
                        finished.set()
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert connected.wait(10)
    env = dict(os.environ, WF_HOME=str(wf_home))
    done = subprocess.run(
        [sys.executable, "-m", "wf", "run", "hello", "--plain"], env=env, capture_output=True
    )
    assert done.returncode == 0, done.stderr
    assert finished.wait(10), events
    runs = httpx.get(server.url + "api/runs", timeout=10).json()["runs"]
    assert events[-1] == runs[0]  # the event carries the run as /api/runs shows it
    assert server.stop() == 0


def test_open_hands_the_address_to_the_web_browser(
    start_ui: Callable[..., UiServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    opened = tmp_path / "opened.txt"
    # webbrowser runs $BROWSER with the address in place of %s: a stand-in that records it
    monkeypatch.setenv("BROWSER", f"/bin/sh -c 'printf %s > {opened}'")
    server = start_ui("--open")
    deadline = time.monotonic() + 20
    while not (opened.exists() and opened.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert opened.read_text() == server.url
    assert server.stop() == 0


def test_another_host_gets_a_warning(start_ui: Callable[..., UiServer]):
    server = start_ui("--host", "0.0.0.0")
    assert server.url.startswith("http://0.0.0.0:")
    code = server.stop()
    err = server.process.stderr.read()
    assert code == 0, err
    assert "warning: listening on 0.0.0.0: the web UI has no authentication" in err


def test_without_the_extra_it_says_what_to_install(
    wf: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
):
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name in ("starlette", "uvicorn") else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    code, out, err = wf("ui")
    assert code == 1
    assert out == ""
    assert err == "Error: the web UI requires the optional 'ui' extra (pip install 'wf[ui]')\n"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_right_after_the_address_line_stops_it_even_with_sigint_ignored(
    wf_home: Path,
) -> None:
    # A process started with SIGINT ignored (a script's background job, a test runner's worker)
    # passes that on; from the address line on, Ctrl+C must stop the server, not be lost in the
    # moment before uvicorn installs its own handler.
    import signal

    env = dict(os.environ, WF_HOME=str(wf_home), PYTHONUNBUFFERED="1")
    command = f'trap "" INT; exec "{sys.executable}" -m wf ui --port 0'
    process = subprocess.Popen(
        ["/bin/sh", "-c", command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("wf ui: serving http://127.0.0.1:")
        with open(f"/proc/{process.pid}/status") as fh:
            ignored = next(line for line in fh if line.startswith("SigIgn:"))
        assert not int(ignored.split()[1], 16) & (1 << (signal.SIGINT - 1)), ignored
        process.send_signal(signal.SIGINT)
        assert process.wait(15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_a_busy_port_is_a_clear_error(start_ui: Callable[..., UiServer], wf_home: Path):
    server = start_ui()
    port = server.url.rsplit(":", 1)[1].rstrip("/")
    env = dict(os.environ, WF_HOME=str(wf_home))
    done = subprocess.run(
        [sys.executable, "-m", "wf", "ui", "--port", port],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert done.stderr.startswith(f"Error: cannot serve on 127.0.0.1:{port}:")
    assert server.stop() == 0


def test_a_bad_port_is_a_usage_error(wf: Callable[..., Any]):
    code, _, err = wf("ui", "--port", "70000")
    assert code == 2
    assert "Run 'wf ui --help' for usage." in err


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("example.com", False),
        ("::", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool):
    assert is_loopback(host) is loopback
