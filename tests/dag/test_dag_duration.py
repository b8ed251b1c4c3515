"""Durations: parsing TOML values to seconds and printing them back.

See docs/workflow-files.md#durations.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wf.dag import DurationError, format_duration, parse_duration
from wf.errors import WfError


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (0, 0.0),
        (30, 30.0),
        (1.5, 1.5),
        ("0", 0.0),
        ("500ms", 0.5),
        ("1m30s", 90.0),
        ("1.5h", 5400.0),
        ("2h", 7200.0),
        ("1h5s", 3605.0),
        ("250us", 0.00025),
        ("250µs", 0.00025),
        ("10ns", 1e-8),
        ("1h2m3s4ms", 3723.004),
        (".5s", 0.5),
    ],
)
def test_parse_duration_accepts_numbers_and_unit_strings(value: object, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


def test_parse_duration_returns_float_seconds() -> None:
    assert isinstance(parse_duration(3), float)


def test_unitless_string_is_rejected_with_a_hint() -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration("30")
    assert str(caught.value) == 'missing unit in duration "30" (write "30s" or the number 30)'


def test_trailing_number_without_unit_is_a_missing_unit() -> None:
    with pytest.raises(DurationError, match="missing unit in duration"):
        parse_duration("1h30")


@pytest.mark.parametrize(
    "value", ["", "abc", "5x", "1.2.3s", "s", " 5s", "5s ", "5 s", "1e3s", [], {}, None, "--5s"]
)
def test_malformed_durations_are_rejected(value: object) -> None:
    with pytest.raises(DurationError):
        parse_duration(value)


@pytest.mark.parametrize("value", [-1, -0.5, "-5s", "-1m30s"])
def test_negative_durations_are_rejected(value: object) -> None:
    with pytest.raises(DurationError, match="negative duration"):
        parse_duration(value)


@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_not_durations(value: bool) -> None:
    with pytest.raises(DurationError):
        parse_duration(value)


@pytest.mark.parametrize("value", [math.inf, math.nan, "9" * 400 + "h"])
def test_non_finite_durations_are_rejected(value: object) -> None:
    with pytest.raises(DurationError):
        parse_duration(value)


def test_duration_error_is_a_wf_error_and_a_value_error() -> None:
    assert issubclass(DurationError, WfError)
    assert issubclass(DurationError, ValueError)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.5, "500ms"),
        (1.5, "1.5s"),
        (90, "1m30s"),
        (7200, "2h"),
        (3605, "1h5s"),
        (0.00025, "250µs"),
        (0.0015, "1.5ms"),
        (1, "1s"),
        (60, "1m"),
        (3661.25, "1h1m1.25s"),
        (12.3456, "12.346s"),
        (0, "0s"),
    ],
)
def test_format_duration_examples(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [-1, math.inf, math.nan])
def test_format_duration_rejects_negative_and_non_finite(seconds: float) -> None:
    with pytest.raises(DurationError):
        format_duration(seconds)


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0, allow_nan=False, allow_infinity=False))
def test_format_duration_formats_every_finite_duration(seconds: float) -> None:
    # Found by the random-TOML property test: timeout = 1.797693134862316e+305 overflowed.
    text = format_duration(seconds)
    assert text
    assert text[0].isdigit()


def test_format_duration_of_a_huge_value_parses_back() -> None:
    seconds = 1.797693134862316e305
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=10**9))
def test_formatted_whole_milliseconds_parse_back_to_the_same_value(millis: int) -> None:
    seconds = millis / 1000
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12) | st.integers() | st.floats() | st.booleans() | st.none())
def test_parse_duration_raises_only_duration_errors(value: object) -> None:
    try:
        seconds = parse_duration(value)
    except DurationError:
        return
    assert seconds >= 0
    assert math.isfinite(seconds)
