"""Fixtures of the web UI tests: a WF_HOME with real runs, and an in-process client."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the web UI tests need the 'ui' extra")
pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx (the 'dev' extra)")

from starlette.testclient import TestClient
from web_samples import (
    HELLO,
    HOSTILE,
    HOSTILE_ATTR,
    SAMPLE,
    History,
    UiServer,
    escape_toml,
)

from wf.config import load_config
from wf.web.app import create_app


@pytest.fixture
def history(wf: Callable[..., Any], wf_home: Path) -> History:
    """Two workflows and three runs: sample (failed, hostile output), hello twice (success)."""
    workflows = wf_home / "workflows"
    workflows.mkdir(parents=True, exist_ok=True)
    sample = SAMPLE.format(hostile=escape_toml(HOSTILE), hostile_attr=escape_toml(HOSTILE_ATTR))
    (workflows / "sample.toml").write_text(textwrap.dedent(sample), encoding="utf-8")
    (workflows / "hello.toml").write_text(textwrap.dedent(HELLO), encoding="utf-8")
    code, _, err = wf("run", "sample", "--plain")
    assert code == 1, err
    for _ in range(2):
        code, _, err = wf("run", "hello", "--plain")
        assert code == 0, err
    code, out, err = wf("runs", "--json", "-l", "0")
    assert code == 0, err
    runs = [r["id"] for r in json.loads(out)["runs"]]
    data = json.loads(out)["runs"]
    failed = next(r["id"] for r in data if r["status"] == "failed")
    success = next(r["id"] for r in data if r["status"] == "success")
    return History(wf_home, failed, success, runs)


@pytest.fixture
def make_client(wf_home: Path) -> Iterator[Callable[..., TestClient]]:
    """A factory of in-process clients of the UI over this test's WF_HOME."""
    clients: list[TestClient] = []

    def make(**options: Any) -> TestClient:
        app = create_app(load_config(), **options)
        client = TestClient(app, base_url="http://127.0.0.1:8765", follow_redirects=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient], history: History) -> TestClient:
    """A client of the UI over the recorded history."""
    return make_client()


@pytest.fixture
def start_ui(wf_home: Path) -> Iterator[Callable[..., UiServer]]:
    """Start ``python -m wf ui --port 0 ARGS`` over this test's WF_HOME; stopped at the end."""
    import os
    import subprocess
    import sys

    servers: list[UiServer] = []

    def start(*args: str) -> UiServer:
        env = dict(os.environ, WF_HOME=str(wf_home), PYTHONUNBUFFERED="1")
        process = subprocess.Popen(
            [sys.executable, "-m", "wf", "ui", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        first = process.stdout.readline() if process.stdout else ""
        match = re.fullmatch(r"wf ui: serving (http://\S+/) \(Ctrl\+C to stop\)\n", first)
        if match is None:
            process.kill()
            _, err = process.communicate()
            raise AssertionError(f"unexpected first line {first!r}; stderr: {err}")
        server = UiServer(process, match.group(1))
        servers.append(server)
        return server

    yield start
    for server in servers:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()
        for stream in (server.process.stdout, server.process.stderr):
            if stream is not None:
                stream.close()
