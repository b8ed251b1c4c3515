"""OpenTelemetry traces of runs (docs/otel.md): switched on by the standard OTEL_* variables.

This module is cheap to import and imports nothing from OpenTelemetry: it decides whether
tracing is on and computes the W3C trace context of each attempt. The spans themselves are made
by ``wf.telemetry.sink`` (extra ``wf[otel]``), an event sink fed by the engine's progress events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from wf.digests import sha256_digest

__all__ = [
    "attempt_span_id",
    "node_span_id",
    "trace_id",
    "trace_sink",
    "traceparent",
    "tracing_enabled",
]

log = logging.getLogger("wf.telemetry")

# Any of these switches tracing on (with the extra installed), unless the exporter is "none"
# or the SDK is disabled.
_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def tracing_enabled(environ: Mapping[str, str]) -> bool:
    """Whether ENVIRON asks for traces: an OTLP endpoint, or a traces exporter other than none."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporters:
        return any(name.strip() not in ("", "none") for name in exporters.split(","))
    return any(environ.get(name, "").strip() for name in _ENDPOINTS)


def _digest(*parts: str, size: int) -> int:
    data = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    value = int.from_bytes(sha256_digest(data)[:size], "big")
    return value or 1  # all-zero IDs are invalid in W3C trace context


def trace_id(run_id: str) -> int:
    """The 128-bit trace ID of a run: the same in wf's spans and in every attempt."""
    return _digest("wf-trace", run_id, size=16)


def node_span_id(run_id: str, node_id: str, first_attempt: int) -> int:
    """The span ID of one execution of a node (a resume executes it again, from a new attempt)."""
    return _digest("wf-node", run_id, node_id, str(first_attempt), size=8)


def attempt_span_id(run_id: str, node_id: str, attempt: int) -> int:
    """The span ID of one attempt; attempt numbers never repeat within a run."""
    return _digest("wf-attempt", run_id, node_id, str(attempt), size=8)


def traceparent(run_id: str, node_id: str, attempt: int) -> str:
    """The ``TRACEPARENT`` value of an attempt: its own span, sampled."""
    return f"00-{trace_id(run_id):032x}-{attempt_span_id(run_id, node_id, attempt):016x}-01"


def trace_sink(workflow: str) -> Callable[[Any], object] | None:
    """A progress callback that traces one run of WORKFLOW, or None without the extra."""
    try:
        from wf.telemetry.sink import TraceSink
    except ImportError:
        log.warning(
            "OpenTelemetry tracing requires the optional 'otel' extra "
            "(pip install 'wf[otel]'): this run is not traced"
        )
        return None
    return TraceSink(workflow)
