"""The trace sink: turns one run's progress events into run, node and attempt spans.

Imported only when tracing is on (``wf.telemetry.tracing_enabled``); needs ``wf[otel]``.
Spans carry the times of the events, and the IDs of ``wf.telemetry`` so that the
``TRACEPARENT`` each attempt received names the attempt's own span.
"""

from __future__ import annotations

import logging
import os
import random
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.trace import Span, Status, StatusCode

from wf._version import __version__
from wf.executor.events import ProgressEvent
from wf.executor.events import ProgressEventKind as K
from wf.telemetry import attempt_span_id, node_span_id, trace_id

__all__ = ["TraceSink", "use_exporter"]

log = logging.getLogger("wf.telemetry")

FLUSH_TIMEOUT_MS = 3000  # a run's end never waits longer than this for the exporter
_TIMEOUT_VARIABLES = ("OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")


class _ChosenIds(IdGenerator):
    """Hands out the IDs the sink chose for its next span (per thread), else random ones."""

    def __init__(self) -> None:
        self._next = threading.local()
        self._random = RandomIdGenerator()

    def choose(self, span_id: int, trace: int | None = None) -> None:
        self._next.span_id = span_id
        self._next.trace_id = trace

    def generate_span_id(self) -> int:
        chosen: int | None = getattr(self._next, "span_id", None)
        self._next.span_id = None
        return chosen if chosen is not None else self._random.generate_span_id()

    def generate_trace_id(self) -> int:
        chosen: int | None = getattr(self._next, "trace_id", None)
        self._next.trace_id = None
        return chosen if chosen is not None else self._random.generate_trace_id()


@dataclass
class _Provider:
    provider: TracerProvider
    ids: _ChosenIds


_lock = threading.Lock()
_current: list[_Provider] = []  # the process's provider, once made


def _exporter_processors(environ: Mapping[str, str]) -> list[SpanProcessor]:
    """The span processors of OTEL_TRACES_EXPORTER (default ``otlp``): otlp and console."""
    names = [
        name.strip()
        for name in (environ.get("OTEL_TRACES_EXPORTER") or "otlp").lower().split(",")
        if name.strip() and name.strip() != "none"
    ]
    processors: list[SpanProcessor] = []
    for name in names:
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            # The exporter's own timeout (10 s, retries included) unless the user chose one:
            # the end of a run waits for it.
            chosen = any(k in environ for k in _TIMEOUT_VARIABLES)
            timeout = None if chosen else FLUSH_TIMEOUT_MS / 1000
            exporter = _Watched(OTLPSpanExporter(timeout=timeout))
            processors.append(BatchSpanProcessor(exporter))
        elif name == "console":
            processors.append(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
        else:
            log.warning("OTEL_TRACES_EXPORTER %r is not supported by wf (otlp, console)", name)
    return processors


class _Watched(SpanExporter):
    """An exporter that remembers a failed export, for one warning per run."""

    failed = threading.Event()

    def __init__(self, inner: SpanExporter) -> None:
        self._inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self._inner.export(spans)
        if result is not SpanExportResult.SUCCESS:
            _Watched.failed.set()
        return result

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


def _make_provider(processors: list[SpanProcessor]) -> _Provider:
    quiet = logging.getLogger("opentelemetry")
    if quiet.level == logging.NOTSET and not quiet.handlers:
        # The exporter logs every failed retry; wf reports an export that failed once, below.
        quiet.setLevel(logging.CRITICAL)
    ids = _ChosenIds()
    name = os.environ.get("OTEL_SERVICE_NAME", "").strip() or "wf"
    resource = Resource.create({"service.name": name, "service.version": __version__})
    # Flushed at the end of each run; nothing waits for the exporter at interpreter exit.
    provider = TracerProvider(resource=resource, id_generator=ids, shutdown_on_exit=False)
    for processor in processors:
        provider.add_span_processor(processor)
    return _Provider(provider, ids)


def _provider() -> _Provider:
    """The process's tracer provider, made on first use from the OTEL_* environment."""
    with _lock:
        if not _current:
            _current.append(_make_provider(_exporter_processors(os.environ)))
        return _current[0]


def use_exporter(exporter: SpanExporter | None) -> None:
    """Send spans to EXPORTER, synchronously (tests, embedding); None: back to the environment."""
    with _lock:
        _current.clear()
        if exporter is not None:
            _current.append(_make_provider([SimpleSpanProcessor(exporter)]))


def _nanos(at: datetime) -> int:
    return int(at.timestamp() * 1_000_000_000)


@dataclass
class _Node:
    span: Span
    attempt: int = 0
    attempt_span: Span | None = None


class TraceSink:
    """A progress callback making one run's spans; events arrive one at a time, in order."""

    def __init__(self, workflow: str) -> None:
        self._workflow = workflow
        holder = _provider()
        self._ids = holder.ids
        self._provider = holder.provider
        self._tracer = holder.provider.get_tracer("wf", __version__)
        self._run: Span | None = None
        self._nodes: dict[str, _Node] = {}

    def __call__(self, event: ProgressEvent) -> None:
        handler = _HANDLERS.get(event.kind)
        if handler is not None:
            handler(self, event)

    # -- spans ----------------------------------------------------------------------------
    def _attrs(self, event: ProgressEvent, **extra: Any) -> dict[str, Any]:
        attrs: dict[str, Any] = {"wf.run_id": event.run_id, "wf.workflow": self._workflow}
        if event.task_id is not None:
            attrs["wf.task_id"] = event.task_id
        attrs.update({k: v for k, v in extra.items() if v is not None})
        return attrs

    def _start(
        self, name: str, parent: Span | None, span_id: int, trace: int | None, **kw: Any
    ) -> Span:
        context = trace_context(parent) if parent is not None else None
        self._ids.choose(span_id, trace)
        return self._tracer.start_span(name, context=context, **kw)

    def _ensure_run(self, event: ProgressEvent) -> Span:
        if self._run is None:
            _Watched.failed.clear()
            # Each invocation (run or resume) has its own run span in the run's trace.
            self._run = self._start(
                "run",
                None,
                random.getrandbits(64) or 1,
                trace_id(event.run_id),
                attributes=self._attrs(event),
                start_time=_nanos(event.at),
            )
        return self._run

    def run_started(self, event: ProgressEvent) -> None:
        self._ensure_run(event)

    def task_started(self, event: ProgressEvent) -> None:
        run = self._ensure_run(event)
        assert event.task_id is not None
        node = _Node(
            self._start(
                f"task {event.task_id}",
                run,
                node_span_id(event.run_id, event.task_id, event.attempt),
                None,
                attributes=self._attrs(event, **{"wf.reason": event.reason}),
                start_time=_nanos(event.at),
            )
        )
        self._nodes[event.task_id] = node
        self._start_attempt(node, event, _nanos(event.at))

    def _start_attempt(self, node: _Node, event: ProgressEvent, start: int) -> None:
        assert event.task_id is not None
        node.attempt = event.attempt
        node.attempt_span = self._start(
            f"attempt {event.attempt}",
            node.span,
            attempt_span_id(event.run_id, event.task_id, event.attempt),
            None,
            attributes=self._attrs(event, **{"wf.attempt": event.attempt}),
            start_time=start,
        )

    def _end_attempt(
        self, node: _Node, event: ProgressEvent, status: str, error: str | None
    ) -> None:
        span = node.attempt_span
        if span is None:
            return
        node.attempt_span = None
        span.set_attribute("wf.status", status)
        if event.exit_code is not None:
            span.set_attribute("wf.exit_code", event.exit_code)
        if status != "success":
            span.set_status(Status(StatusCode.ERROR, error or status))
        span.end(end_time=_nanos(event.at))

    def task_retrying(self, event: ProgressEvent) -> None:
        node = self._node(event)
        error = f"exit status {event.exit_code}" if event.exit_code is not None else None
        self._end_attempt(node, event, "failed", error)
        start = _nanos(event.at) + int(event.delay * 1_000_000_000)
        self._start_attempt(node, event, start)

    def task_done(self, event: ProgressEvent) -> None:
        node = self._node(event)
        self._end_attempt(node, event, "success", None)
        self._end_node(node, event, "success", None)

    def task_failed(self, event: ProgressEvent) -> None:
        node = self._node(event)
        status = event.status or "failed"
        self._end_attempt(node, event, status, event.error)
        self._end_node(node, event, status, event.error)

    def task_skipped(self, event: ProgressEvent) -> None:
        node = self._node(event)
        node.span.set_attribute("wf.reason", event.reason or "")
        self._end_node(node, event, "skipped" if event.status == "skipped" else "reused", None)

    def _node(self, event: ProgressEvent) -> _Node:
        """The open node of EVENT, or a new one for a node that never started an attempt."""
        assert event.task_id is not None
        node = self._nodes.get(event.task_id)
        if node is None:
            span = self._start(
                f"task {event.task_id}",
                self._ensure_run(event),
                random.getrandbits(64) or 1,
                None,
                attributes=self._attrs(event),
                start_time=_nanos(event.at),
            )
            node = self._nodes[event.task_id] = _Node(span)
        return node

    def _end_node(self, node: _Node, event: ProgressEvent, status: str, error: str | None) -> None:
        assert event.task_id is not None
        del self._nodes[event.task_id]
        span = node.span
        span.set_attribute("wf.status", status)
        if node.attempt:
            span.set_attribute("wf.attempt", node.attempt)
        if event.exit_code is not None:
            span.set_attribute("wf.exit_code", event.exit_code)
        if status in ("failed", "cancelled"):
            span.set_status(Status(StatusCode.ERROR, error or status))
        span.end(end_time=_nanos(event.at))

    def run_done(self, event: ProgressEvent) -> None:
        run = self._ensure_run(event)
        for task_id in list(self._nodes):  # never left open, whatever happened
            node = self._nodes[task_id]
            self._end_attempt(node, event, "cancelled", event.error)
            self._end_node(node, event, "cancelled", event.error)
        status = event.run_status or "failed"
        run.set_attribute("wf.status", status)
        if status != "success":
            run.set_status(Status(StatusCode.ERROR, event.error or status))
        run.end(end_time=_nanos(event.at))
        self._run = None
        flushed = self._provider.force_flush(FLUSH_TIMEOUT_MS)
        if not flushed or _Watched.failed.is_set():
            log.warning("could not export the run's trace within %d ms", FLUSH_TIMEOUT_MS)


def trace_context(span: Span) -> Any:
    """A context whose current span is SPAN (the parent of the next span)."""
    return trace.set_span_in_context(span)


_HANDLERS = {
    K.RUN_STARTED: TraceSink.run_started,
    K.TASK_STARTED: TraceSink.task_started,
    K.TASK_RETRYING: TraceSink.task_retrying,
    K.TASK_DONE: TraceSink.task_done,
    K.TASK_FAILED: TraceSink.task_failed,
    K.TASK_SKIPPED: TraceSink.task_skipped,
    K.RUN_DONE: TraceSink.run_done,
}
