"""Bad numbers: extreme durations, backoffs and matrix sizes are capped or refused, never an
overflow, an infinity, a hang or "internal error" (docs/reliability.md)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import RunFlow, record, scale

from wf.durations import MAX_DELAY, backoff_delay

pytestmark = pytest.mark.slow

HUGE = st.floats(min_value=0, max_value=1.7e308, allow_nan=False, allow_infinity=False)
FACTORS = st.floats(min_value=1.0, max_value=1.7e308, allow_nan=False, allow_infinity=False)


@given(base=HUGE, factor=FACTORS, steps=st.integers(0, 2**40), cap=st.none() | HUGE)
def test_a_backoff_delay_is_always_a_finite_capped_number(
    base: float, factor: float, steps: int, cap: float | None
) -> None:
    delay = backoff_delay(base, factor, steps, cap)
    assert math.isfinite(delay)
    assert 0 <= delay <= MAX_DELAY
    if cap is not None:
        assert delay <= cap
    if base == 0:
        assert delay == 0


def _duration(seconds: float, as_text: bool) -> str:
    """A TOML duration: a number of seconds, or a string in milliseconds."""
    if as_text:
        return json.dumps(f"{int(seconds * 1000)}ms") if seconds * 1000 < 1e18 else '"1h"'
    return repr(float(seconds))


DURATIONS = st.tuples(HUGE, st.booleans()).map(lambda p: _duration(*p))


@settings(
    max_examples=scale(40, 300),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    timeout=DURATIONS,
    kill_grace=DURATIONS,
    retry_delay=DURATIONS,
    retry_max_delay=DURATIONS,
    backoff=st.one_of(FACTORS, st.integers(1, 2**63 - 1)),
    retries=st.integers(0, 2**63 - 1),
)
def test_any_numbers_validate_plan_and_draw_without_an_internal_error(
    wf: Callable[..., Any],
    workdir: Path,
    timeout: str,
    kill_grace: str,
    retry_delay: str,
    retry_max_delay: str,
    backoff: float,
    retries: int,
) -> None:
    path = workdir / "numbers.toml"
    path.write_text(
        f"""
[tasks.t]
cmd = "exit 1"
timeout = {timeout}
kill_grace = {kill_grace}
retries = {retries}
retry_delay = {retry_delay}
retry_backoff = {backoff!r}
retry_max_delay = {retry_max_delay}
"""
    )
    for args in (
        ("validate", str(path)),
        ("validate", str(path), "--json"),
        ("run", str(path), "--dry-run"),
        ("graph", str(path)),
        ("graph", str(path), "-f", "json"),
    ):
        code, out, err = wf(*args)
        assert code in (0, 2), (args, out, err)
        assert "internal error" not in out + err
        assert "Traceback" not in out + err


@settings(
    max_examples=scale(12, 60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    retry_delay=HUGE,
    backoff=FACTORS,
    retries=st.integers(0, 3),
    cap_ms=st.integers(0, 10),
    timeout=st.floats(min_value=1.0, max_value=1.7e308),
    kill_grace=HUGE,
)
def test_any_retry_numbers_run_with_the_capped_delays(
    run_flow: RunFlow,
    retry_delay: float,
    backoff: float,
    retries: int,
    cap_ms: int,
    timeout: float,
    kill_grace: float,
) -> None:
    result = run_flow(
        f"""
        [tasks.t]
        cmd = "exit 1"
        retries = {retries}
        retry_delay = {retry_delay!r}
        retry_backoff = {backoff!r}
        retry_max_delay = "{cap_ms}ms"
        timeout = {timeout!r}
        kill_grace = {kill_grace!r}
        """
    )
    assert result.code == 1, result.err
    assert "internal error" not in result.err
    rows = [r for r in result.rows if r["task_id"] == "t"]
    assert len(rows) == retries + 1
    assert all(r["error_message"] == "exit status 1" for r in rows)


def test_a_huge_backoff_with_a_small_cap_is_capped(run_flow: RunFlow, wf: Any) -> None:
    started = time.monotonic()
    result = run_flow(
        """
        [tasks.t]
        cmd = "exit 1"
        retries = 3
        retry_delay = "1ms"
        retry_backoff = 1e200
        retry_max_delay = "10ms"
        """
    )
    assert result.code == 1
    assert "internal error" not in result.err
    assert len(result.rows) == 4
    audit = json.loads(wf("audit", result.run["id"], "--json").out)
    delays = [e["event_data"]["delay_ms"] for e in audit if e["event_type"] == "task_retried"]
    assert delays == [1, 10, 10]
    assert time.monotonic() - started < 60  # not a delay of 1e200 seconds
    record("numbers", case="retry_backoff = 1e200, retry_max_delay = 10ms", held=True)


# -- matrix size -----------------------------------------------------------------------------------
def _values(n: int) -> str:
    return ", ".join(f'"v{i}"' for i in range(n))


@pytest.mark.parametrize(
    ("case", "text", "error"),
    [
        (
            "one matrix of 60^4",
            "[tasks.a]\ncmd = 'echo'\nmatrix = { w = [V], x = [V], y = [V], z = [V] }\n".replace(
                "V", _values(60)
            ),
            'task "a": matrix has 12,960,000 expansions (at most 100,000 nodes are allowed)',
        ),
        (
            "two matrices of 250^2",
            (
                "[tasks.a]\ncmd = 'echo'\nmatrix = { w = [V], x = [V] }\n"
                "[tasks.b]\ncmd = 'echo'\nmatrix = { w = [V], x = [V] }\n"
            ).replace("V", _values(250)),
            "workflow expands to 125,000 nodes (at most 100,000 are allowed): reduce the matrices",
        ),
    ],
)
def test_a_matrix_beyond_the_node_limit_is_refused_before_it_is_expanded(
    wf: Callable[..., Any], workdir: Path, case: str, text: str, error: str
) -> None:
    import resource

    path = workdir / "big.toml"
    path.write_text(text)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for args in (("validate", str(path)), ("run", str(path)), ("graph", str(path))):
        code, out, err = wf(*args)
        assert code == 2, (args, out, err)
        assert error in out + err
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 200 * 1024  # nothing was expanded (60^4 nodes would take gigabytes)
    record("numbers", case=f"matrix of {case}: validation error before expansion", held=True)
