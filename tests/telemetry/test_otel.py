"""OpenTelemetry (docs/otel.md): run, node and attempt spans, TRACEPARENT, and off by default."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from wf.dag import load_dag
from wf.executor import executor_for_mode
from wf.storage import Store
from wf.telemetry import attempt_span_id, trace_id, traceparent, tracing_enabled

otel = pytest.importorskip("opentelemetry.sdk.trace")
from opentelemetry.sdk.trace import ReadableSpan  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from opentelemetry.trace import StatusCode  # noqa: E402

from wf.telemetry.sink import use_exporter  # noqa: E402

FLOW = """
name = "traced"

[tasks.a]
cmd = 'echo "$TRACEPARENT" > tp_a.txt; echo go'
register = "v"

[tasks.b]
cmd = 'echo "$TRACEPARENT" >> tp_b.txt; exit 3'
depends_on = ["a"]
retries = 1

[tasks.a2]
cmd = "true"
depends_on = ["a"]
if = 'v == "stop"'
"""


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """Tracing switched on by the standard variable; spans kept in memory, nothing sent."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    exporter = InMemorySpanExporter()
    use_exporter(exporter)
    yield exporter
    use_exporter(None)


def _run(tmp_path: Path, mode: str = "sequential", text: str = FLOW) -> tuple[str, Store]:
    workflow = tmp_path / "traced.toml"
    workflow.write_text(textwrap.dedent(text), encoding="utf-8")
    store = Store(tmp_path / "wf.db")
    executor = executor_for_mode(mode, store, 2, logs_dir=tmp_path / "logs", kill_grace=0.2)
    run = executor.execute(load_dag(workflow))
    return run.id, store


def _by_name(spans: tuple[ReadableSpan, ...]) -> dict[str, list[ReadableSpan]]:
    out: dict[str, list[ReadableSpan]] = {}
    for span in spans:
        key = span.name
        if span.name.startswith("attempt"):
            key = f"{span.attributes['wf.task_id']} {span.name}"
        out.setdefault(key, []).append(span)
    return out


@pytest.mark.parametrize("mode", ["sequential", "parallel", "work_stealing"])
def test_a_run_is_one_trace_of_run_node_and_attempt_spans(
    spans: InMemorySpanExporter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.chdir(tmp_path)
    run_id, store = _run(tmp_path, mode)
    finished = spans.get_finished_spans()
    named = _by_name(finished)
    assert sorted(named) == sorted(
        ["run", "task a", "task b", "task a2", "a attempt 1", "b attempt 1", "b attempt 2"]
    )
    assert {s.context.trace_id for s in finished} == {trace_id(run_id)}
    (run,) = named["run"]
    assert run.parent is None
    assert run.attributes == {
        "wf.run_id": run_id,
        "wf.workflow": "traced",
        "wf.status": "failed",
    }
    assert run.status.status_code is StatusCode.ERROR
    for task in ("a", "b", "a2"):
        (node,) = named[f"task {task}"]
        assert node.parent is not None
        assert node.parent.span_id == run.context.span_id
    (a,) = named["task a"]
    assert a.attributes["wf.status"] == "success"
    assert a.attributes["wf.exit_code"] == 0
    assert a.status.status_code is StatusCode.UNSET
    (b,) = named["task b"]
    assert b.attributes["wf.status"] == "failed"
    assert b.attributes["wf.attempt"] == 2
    assert b.status.status_code is StatusCode.ERROR
    assert b.status.description == "exit status 3"
    (c,) = named["task a2"]
    assert c.attributes["wf.status"] == "skipped"
    for number in (1, 2):
        (attempt,) = named[f"b attempt {number}"]
        assert attempt.parent is not None
        assert attempt.parent.span_id == b.context.span_id
        assert attempt.attributes["wf.attempt"] == number
        assert attempt.attributes["wf.exit_code"] == 3
        assert attempt.attributes["wf.task_id"] == "b"
        assert attempt.status.status_code is StatusCode.ERROR
        assert attempt.context.span_id == attempt_span_id(run_id, "b", number)
    first, second = named["b attempt 1"][0], named["b attempt 2"][0]
    assert first.end_time is not None
    assert second.start_time is not None
    assert first.end_time <= second.start_time
    # Each attempt saw its own span as the parent of whatever it traces.
    (a1,) = named["a attempt 1"]
    assert (tmp_path / "tp_a.txt").read_text().strip() == traceparent(run_id, "a", 1)
    assert f"{a1.context.span_id:016x}" in traceparent(run_id, "a", 1)
    assert (tmp_path / "tp_b.txt").read_text().split() == [
        traceparent(run_id, "b", 1),
        traceparent(run_id, "b", 2),
    ]
    store.close()


def test_without_the_environment_no_attempt_gets_a_traceparent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    _, store = _run(tmp_path, text="[tasks.a]\ncmd = 'echo \"[$TRACEPARENT]\" > tp_a.txt'\n")
    assert (tmp_path / "tp_a.txt").read_text().strip() == "[]"
    store.close()


@pytest.mark.parametrize(
    ("environ", "enabled"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": " "}, False),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, False),
        ({"OTEL_SERVICE_NAME": "x"}, False),
    ],
)
def test_only_the_standard_variables_switch_tracing_on(
    environ: dict[str, str], enabled: bool
) -> None:
    assert tracing_enabled(environ) is enabled


def test_traceparent_is_w3c_trace_context() -> None:
    value = traceparent("run1", "build[os=linux]", 3)
    version, trace, span, flags = value.split("-")
    assert (version, flags) == ("00", "01")
    assert len(trace) == 32
    assert len(span) == 16
    assert int(trace, 16) == trace_id("run1")
    assert traceparent("run1", "build[os=linux]", 4) != value


_PROBE = """
import sys
{block}
from wf.cli import main
code = main(["--home", sys.argv[1], "run", sys.argv[2], "--plain"])
loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
print("LOADED", loaded, "CODE", code)
"""


def _probe(
    tmp_path: Path, env: dict[str, str], block: str = ""
) -> subprocess.CompletedProcess[str]:
    workflow = tmp_path / "probe.toml"
    workflow.write_text('[tasks.a]\ncmd = "true"\n', encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-c", _PROBE.format(block=block), str(tmp_path / "h"), str(workflow)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}


def test_without_the_environment_nothing_is_imported(tmp_path: Path) -> None:
    done = _probe(tmp_path, _clean_env())
    assert "LOADED [] CODE 0" in done.stdout, done.stdout + done.stderr


def test_with_the_environment_but_without_the_extra_the_run_goes_on_untraced(
    tmp_path: Path,
) -> None:
    env = {**_clean_env(), "OTEL_TRACES_EXPORTER": "console"}
    block = "sys.modules['opentelemetry'] = None  # as if wf[otel] were not installed"
    done = _probe(tmp_path, env, block)
    assert "CODE 0" in done.stdout, done.stdout + done.stderr
    assert "requires the optional 'otel' extra (pip install 'wf[otel]')" in done.stderr


def test_with_the_environment_the_sdk_exports(tmp_path: Path) -> None:
    env = {**_clean_env(), "OTEL_TRACES_EXPORTER": "console"}
    done = _probe(tmp_path, env)
    assert "CODE 0" in done.stdout, done.stdout + done.stderr
    assert '"name": "run"' in done.stderr  # the console exporter writes to stderr
    assert "opentelemetry.sdk.trace" in done.stdout


def test_a_resume_adds_a_run_span_to_the_same_trace(
    spans: InMemorySpanExporter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    flow = '[tasks.a]\ncmd = "true"\n[tasks.b]\ncmd = "test -e go"\ndepends_on = ["a"]\n'
    run_id, store = _run(tmp_path, text=flow)
    (tmp_path / "go").touch()
    executor = executor_for_mode("sequential", store, 1, logs_dir=tmp_path / "logs")
    assert str(executor.resume(run_id).status) == "success"
    finished = spans.get_finished_spans()
    assert {s.context.trace_id for s in finished} == {trace_id(run_id)}
    runs = [s for s in finished if s.name == "run"]
    assert [r.attributes["wf.status"] for r in runs] == ["failed", "success"]
    assert runs[0].context.span_id != runs[1].context.span_id
    b_spans = [s for s in finished if s.name == "task b"]
    assert [s.attributes["wf.status"] for s in b_spans] == ["failed", "success"]
    assert b_spans[1].parent is not None
    assert b_spans[1].parent.span_id == runs[1].context.span_id
    assert b_spans[0].context.span_id != b_spans[1].context.span_id
    store.close()


class _Receiver:
    """A real OTLP/HTTP receiver on 127.0.0.1: it keeps the spans of every POST /v1/traces."""

    def __init__(self) -> None:
        import http.server
        import threading

        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        received: list[tuple[str, dict[str, object], str]] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        for span in scope.spans:
                            attrs = {a.key: _value(a.value) for a in span.attributes}
                            received.append((span.name, attrs, span.span_id.hex()))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.spans = received
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _value(value: object) -> object:
    kind = value.WhichOneof("value")  # type: ignore[attr-defined]
    return getattr(value, kind) if kind else None


def test_spans_reach_a_real_otlp_receiver(tmp_path: Path) -> None:
    receiver = _Receiver()
    try:
        workflow = tmp_path / "flow.toml"
        workflow.write_text("[tasks.a]\ncmd = 'echo \"$TRACEPARENT\" > tp.txt'\n")
        env = {**_clean_env(), "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint}
        done = subprocess.run(
            [sys.executable, "-m", "wf", "--home", str(tmp_path / "h"), "run", str(workflow)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "could not export" not in done.stderr
    finally:
        receiver.close()
    names = sorted(name for name, _, _ in receiver.spans)
    assert names == ["attempt 1", "run", "task a"]
    (attempt,) = [s for s in receiver.spans if s[0] == "attempt 1"]
    assert attempt[1]["wf.task_id"] == "a"
    assert attempt[1]["wf.exit_code"] == 0
    traceparent = (tmp_path / "tp.txt").read_text().strip()
    assert traceparent.split("-")[2] == attempt[2]


def test_an_unreachable_collector_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    workflow = tmp_path / "flow.toml"
    workflow.write_text('[tasks.a]\ncmd = "true"\n')
    env = {**_clean_env(), "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}"}
    done = subprocess.run(
        [sys.executable, "-m", "wf", "--home", str(tmp_path / "h"), "run", str(workflow)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "warning: could not export the run's trace" in done.stderr
    assert "Transient error" not in done.stderr  # the exporter's retries are not echoed
