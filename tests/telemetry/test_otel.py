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
