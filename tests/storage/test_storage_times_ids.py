"""Stored time format and run IDs (docs/storage.md#run-ids-and-times)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wf.storage import decode_run_id, format_time, is_run_id, new_run_id, parse_time
from wf.storage.ids import ALPHABET, EPOCH
from wf.storage.times import format_optional, normalized_time

ID_RE = re.compile(r"[0-9A-Za-z]{27}")
aware = st.datetimes(
    min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)
encodable = st.datetimes(
    min_value=datetime(2014, 5, 13, 16, 53, 20),
    max_value=datetime(2150, 1, 1),
    timezones=st.just(UTC),
)


def test_format_time_has_six_fractional_digits_and_z() -> None:
    assert format_time(datetime(2026, 3, 13, 9, 15, 2, 123456, UTC)) == (
        "2026-03-13T09:15:02.123456Z"
    )
    assert format_time(datetime(2026, 3, 13, 9, 15, 2, tzinfo=UTC)) == (
        "2026-03-13T09:15:02.000000Z"
    )


def test_format_time_converts_other_zones_to_utc_and_takes_naive_as_utc() -> None:
    plus2 = timezone(timedelta(hours=2))
    assert format_time(datetime(2026, 3, 13, 11, 0, tzinfo=plus2)) == "2026-03-13T09:00:00.000000Z"
    assert format_time(datetime(2026, 3, 13, 9, 0)) == "2026-03-13T09:00:00.000000Z"


def test_parse_time_returns_aware_utc_or_none() -> None:
    assert parse_time(None) is None
    assert parse_time("") is None
    parsed = parse_time("2026-03-13T09:15:02.123456Z")
    assert parsed == datetime(2026, 3, 13, 9, 15, 2, 123456, UTC)
    assert parsed is not None
    assert parsed.tzinfo is UTC
    assert parse_time("2026-03-13T11:15:02+02:00") == datetime(2026, 3, 13, 9, 15, 2, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_time("yesterday")


@given(aware)
def test_time_format_roundtrips_at_fixed_width(dt: datetime) -> None:
    text = format_time(dt)
    assert len(text) == 27
    assert parse_time(text) == dt


@given(aware, aware)
def test_time_text_order_equals_time_order(a: datetime, b: datetime) -> None:
    assert (format_time(a) < format_time(b)) == (a < b)


def test_run_id_is_27_base62_characters() -> None:
    run_id = new_run_id()
    assert ID_RE.fullmatch(run_id)
    assert is_run_id(run_id)
    assert ALPHABET == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62(value: int) -> str:
    digits = ""
    while value:
        value, rest = divmod(value, 62)
        digits = ALPHABET[rest] + digits
    return digits.rjust(27, "0")


def test_run_id_encodes_seconds_since_1_400_000_000_then_random_bytes() -> None:
    assert new_run_id(EPOCH, bytes(16)) == "0" * 27
    assert new_run_id(EPOCH + 1, bytes(16)) == base62(2**128)
    assert new_run_id(EPOCH, b"\x00" * 15 + b"\x3d") == "0" * 26 + "z"
    largest = new_run_id(EPOCH + 2**32 - 1, b"\xff" * 16)
    assert largest == base62(2**160 - 1) == "aWgEPTl1tmebfsQzFP4bxwgy80V"
    when = datetime(2026, 3, 13, 9, 15, 2, 999999, UTC)
    assert new_run_id(when, bytes(16)) == base62((int(when.timestamp()) - EPOCH) << 128)


def test_run_id_rejects_unencodable_times_and_bad_randomness() -> None:
    with pytest.raises(ValueError):
        new_run_id(EPOCH - 1)
    with pytest.raises(ValueError):
        new_run_id(EPOCH + 2**32)
    with pytest.raises(ValueError):
        new_run_id(EPOCH, b"short")


def test_decode_rejects_malformed_ids() -> None:
    for bad in ["", "abc", "!" * 27, "z" * 27]:
        assert not is_run_id(bad)
        with pytest.raises(ValueError):
            decode_run_id(bad)


@given(encodable, st.binary(min_size=16, max_size=16))
def test_run_id_roundtrips_second_and_randomness(dt: datetime, rand: bytes) -> None:
    run_id = new_run_id(dt, rand)
    assert ID_RE.fullmatch(run_id)
    when, back = decode_run_id(run_id)
    assert back == rand
    assert when == dt.replace(microsecond=0)


@given(
    encodable, encodable, st.binary(min_size=16, max_size=16), st.binary(min_size=16, max_size=16)
)
def test_run_ids_sort_as_text_by_creation_second(
    a: datetime, b: datetime, ra: bytes, rb: bytes
) -> None:
    sa, sb = int(a.timestamp()), int(b.timestamp())
    if sa != sb:
        assert (new_run_id(a, ra) < new_run_id(b, rb)) == (sa < sb)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "2026-03-13T09:15:02.123456Z",
        "0001-01-01T00:00:00.000000Z",
        "2026-03-13T09:15:02Z",
        "2026-03-13T11:15:02.5+02:00",
        "2026-03-13 09:15:02",
        "2026-03-13",
    ],
)
def test_normalized_time_is_format_of_parse(text: str | None) -> None:
    assert normalized_time(text) == format_optional(parse_time(text))


@pytest.mark.parametrize(
    "text", ["2026-13-13T09:15:02.123456Z", "2026-02-30T09:15:02.123456Z", "yesterday"]
)
def test_normalized_time_refuses_what_parse_time_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text)
    with pytest.raises(ValueError):
        normalized_time(text)
