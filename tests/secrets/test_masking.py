"""Masking secrets: text, JSON, byte streams cut anywhere, env files, resolution."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wf.executor.runner import LogSink
from wf.secrets import (
    MASK,
    Masker,
    SecretError,
    parse_secret_args,
    read_env_file,
    resolve_secrets,
    scrub_file,
)

SECRET_CHARS = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00")
secrets = st.text(SECRET_CHARS, min_size=2, max_size=24).map(lambda s: "Zq" + s)
PROPS = settings(max_examples=300, deadline=None)


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@PROPS
@given(
    secret=secrets,
    other=secrets,
    before=st.binary(max_size=40),
    after=st.binary(max_size=40),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
    encoding=st.sampled_from(["utf-8", "latin-1"]),
    repeat=st.integers(min_value=1, max_value=3),
)
def test_a_stream_cut_anywhere_never_shows_a_secret(
    secret: str,
    other: str,
    before: bytes,
    after: bytes,
    cuts: list[int],
    encoding: str,
    repeat: int,
) -> None:
    try:
        encoded = secret.encode(encoding)
    except UnicodeEncodeError:
        encoded = secret.encode("utf-8")
    masker = Masker([secret, other])
    data = (before + encoded + after) * repeat + other.encode()
    stream = masker.stream()
    out = b"".join(stream.feed(chunk) for chunk in _chunks(data, cuts)) + stream.flush()
    assert encoded not in out
    assert other.encode() not in out
    assert out == masker.data(data)  # the same as masking the whole stream at once


@PROPS
@given(secret=secrets, cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=10))
def test_the_log_sink_writes_no_secret(
    tmp_path_factory: pytest.TempPathFactory, secret: str, cuts: list[int]
) -> None:
    path = tmp_path_factory.mktemp("log") / "attempt_1.log"
    data = b"start " + secret.encode() + b" middle " + secret.encode() + b" end\n"
    sink = LogSink(path, 1 << 20, (secret,))
    for i, chunk in enumerate(_chunks(data, cuts)):
        sink.write(chunk, is_stdout=i % 2 == 0)
    sink.close()
    text = path.read_bytes()
    assert secret.encode() not in text
    assert text == b"start *** middle *** end\n"


def test_short_values_are_not_masked() -> None:
    masker = Masker(["abc", "abcd"])
    assert masker.text("abc abcd") == "abc ***"
    assert masker.values == ("abcd",)


def test_the_longest_secret_wins_and_json_escapes_are_masked() -> None:
    masker = Masker(['pa"ss\\wörd', 'pa"ss'])
    assert masker.text('x pa"ss\\wörd y') == f"x {MASK} y"
    assert MASK in masker.text(json.dumps({"v": 'pa"ss\\wörd'}))
    assert "wörd" not in masker.text(json.dumps({"v": 'pa"ss\\wörd'}))  # ensure_ascii escapes
    assert masker.text(json.dumps({"v": 'pa"ss\\wörd'}, ensure_ascii=False)) == '{"v": "***"}'


def test_scrub_file_rewrites_only_when_needed(tmp_path: Path) -> None:
    path = tmp_path / "out"
    path.write_text("a=hunter22\nb=1\n")
    scrub_file(path, Masker(["hunter22"]))
    assert path.read_text() == "a=***\nb=1\n"
    scrub_file(tmp_path / "missing", Masker(["hunter22"]))  # no file: nothing to do


def test_an_env_file_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text('# comment\nexport API_TOKEN="tok-123456"\nDB=pw = with equals\n\n')
    path.chmod(0o600)
    assert read_env_file(path) == {"API_TOKEN": "tok-123456", "DB": "pw = with equals"}
    for mode in (0o640, 0o604, 0o620):
        path.chmod(mode)
        with pytest.raises(SecretError, match="readable or writable by others"):
            read_env_file(path)
    path.chmod(0o600)
    path.write_text("not a pair\n")
    with pytest.raises(SecretError, match="line 1: expected KEY=VALUE"):
        read_env_file(path)
    with pytest.raises(SecretError, match="cannot read env file"):
        read_env_file(tmp_path / "missing.env")


def test_declared_secrets_come_from_the_file_then_the_environment() -> None:
    resolved = resolve_secrets(
        ["A", "B"], environ={"A": "env-a-value", "B": "env-b-value"}, env_file={"A": "file-a"}
    )
    assert resolved.env == {"A": "file-a", "B": "env-b-value"}
    with pytest.raises(SecretError, match=r"missing secret\(s\) B, C"):
        resolve_secrets(["A", "B", "C"], environ={"A": "x", "B": ""})


def test_secret_arguments() -> None:
    assert parse_secret_args(["pw=a=b", "k="]) == {"pw": "a=b", "k": ""}
    with pytest.raises(SecretError, match="expected KEY=VALUE"):
        parse_secret_args(["novalue"])
    with pytest.raises(SecretError, match="invalid variable name"):
        parse_secret_args(["bad name=x"])
    with pytest.raises(SecretError, match="reserved"):
        parse_secret_args(["failed_task=x"])


def test_nothing_is_masked_by_the_store_outside_a_run() -> None:
    from wf.secrets import active, mask_params

    params = ("hunter22", 1)
    assert mask_params(params) is params
    with active(Masker(["hunter22"])):
        assert mask_params(params) == ("***", 1)
    stamp = "2026-12-06T19:25:52.372822Z"
    with active(Masker(["2026"])):  # a low-entropy secret never breaks the stored times
        assert mask_params((stamp, "pin 2026")) == (stamp, "pin ***")
    assert mask_params(params) is params
    assert os.environ.get("NEVER_SET_XYZ") is None
