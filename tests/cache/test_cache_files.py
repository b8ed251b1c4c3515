"""Globs, content hashes and cache keys of incremental runs (docs/caching.md)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wf.cache import FileHasher, cache_key, command_digest, expand_globs
from wf.cache.hashing import RACY_NS, sha256_file
from wf.cache.key import canonical_command

FUTURE = 10 * RACY_NS  # a clock this far ahead trusts files written a moment ago


def later() -> int:
    return time.time_ns() + FUTURE


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


def test_double_star_matches_any_depth_and_only_files(tmp_path: Path) -> None:
    write(tmp_path / "src/a.py", "a")
    write(tmp_path / "src/pkg/b.py", "b")
    write(tmp_path / "src/pkg/deep/c.py", "c")
    write(tmp_path / "src/pkg/notes.txt", "n")
    (tmp_path / "src/dir.py").mkdir()
    assert expand_globs(["src/**/*.py"], str(tmp_path)) == [
        "src/a.py",
        "src/pkg/b.py",
        "src/pkg/deep/c.py",
    ]


def test_results_are_sorted_unique_and_relative_to_the_base(tmp_path: Path) -> None:
    write(tmp_path / "b.txt", "b")
    write(tmp_path / "a.txt", "a")
    got = expand_globs(["*.txt", "a.txt", "./a.txt"], str(tmp_path))
    assert got == ["a.txt", "b.txt"]


def test_a_plain_name_matches_its_file_and_a_missing_one_matches_nothing(tmp_path: Path) -> None:
    write(tmp_path / "req.txt", "x")
    assert expand_globs(["req.txt", "missing.txt"], str(tmp_path)) == ["req.txt"]


def test_an_absolute_pattern_gives_absolute_paths(tmp_path: Path) -> None:
    write(tmp_path / "x/one.c", "1")
    assert expand_globs([f"{tmp_path}/x/*.c"], "/") == [f"{tmp_path}/x/one.c"]


def test_hidden_files_are_not_matched_by_wildcards(tmp_path: Path) -> None:
    write(tmp_path / ".secret.py", "s")
    write(tmp_path / "seen.py", "s")
    assert expand_globs(["*.py"], str(tmp_path)) == ["seen.py"]


def test_hash_is_the_sha256_of_the_content(tmp_path: Path) -> None:
    import hashlib

    path = write(tmp_path / "f", b"hello\n")
    assert sha256_file(str(path)) == hashlib.sha256(b"hello\n").hexdigest()
    info = FileHasher(clock_ns=later).info(str(path))
    assert (info.size, info.sha256) == (6, hashlib.sha256(b"hello\n").hexdigest())


def test_a_trusted_identity_is_not_read_again(tmp_path: Path) -> None:
    path = str(write(tmp_path / "f", b"x" * 1000))
    hasher = FileHasher(clock_ns=later)
    first = hasher.info(path)
    assert first.stat is not None
    assert hasher.files_read == 1
    second = hasher.info(path)
    assert second == first
    assert hasher.files_read == 1  # answered from the identity, not the content
    entry = {"f": first.manifest_entry()}
    fresh = FileHasher(clock_ns=later)
    assert fresh.info(path, entry, "f").sha256 == first.sha256
    assert fresh.files_read == 0  # the recorded manifest vouches for it


def test_a_rewrite_that_keeps_size_and_mtime_is_caught_through_ctime(tmp_path: Path) -> None:
    path = write(tmp_path / "f", b"aaaa")
    hasher = FileHasher(clock_ns=later)
    first = hasher.info(str(path))
    before = os.stat(path)
    # Wait for the file-system clock to move past the recorded ctime (a condition, not a
    # fixed sleep): a rewrite within the same clock tick is the "racy" case handled below.
    probe = tmp_path / "probe"
    while True:
        write(probe, "p")
        if os.stat(probe).st_ctime_ns > before.st_ctime_ns:
            break
    path.write_bytes(b"bbbb")  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # same mtime (cp -p, touch -r)
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    entry = {"f": first.manifest_entry()}
    second = hasher.info(str(path), entry, "f")
    assert second.sha256 != first.sha256
    assert hasher.files_read == 2


def test_recent_files_are_read_every_time_and_never_trusted_later(tmp_path: Path) -> None:
    path = str(write(tmp_path / "f", b"racy"))
    hasher = FileHasher()  # the real clock: the file was written just now
    info = hasher.info(path)
    assert info.stat is None  # not trusted for a later stat-only check
    assert info.manifest_entry()[2] is None
    st = os.stat(path)
    recorded = [4, info.sha256, [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]]
    hasher.info(path, {"f": recorded}, "f")  # the identity matches, but is too recent
    assert hasher.files_read == 2
    assert hasher.take_learned() == []


def test_learned_hashes_feed_the_persistent_cache(tmp_path: Path) -> None:
    path = str(write(tmp_path / "f", b"learn"))
    hasher = FileHasher(clock_ns=later)
    info = hasher.info(path)
    learned = hasher.take_learned()
    assert learned == [(path, info.stat, info.sha256)]
    assert hasher.take_learned() == []
    known = {(p, s): d for p, s, d in learned}
    other = FileHasher(lambda p, s: known.get((p, s)), clock_ns=later)
    assert other.info(path).sha256 == info.sha256
    assert other.files_read == 0
    stale = FileHasher(lambda p, s: "0" * 64 if s != info.stat else None, clock_ns=later)
    assert stale.info(path).sha256 == info.sha256  # a lookup for another identity is unused


def _digest(**changes: object) -> str:
    base: dict[str, object] = {
        "cmd": "cc -c a.c",
        "env": {"CC": "gcc"},
        "working_dir": "",
        "clean_env": False,
        "inputs": ["*.c"],
        "outputs": ["a.o"],
    }
    base.update(changes)
    return command_digest(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "change",
    [
        {"cmd": "cc -O2 -c a.c"},
        {"env": {"CC": "clang"}},
        {"working_dir": "./build"},
        {"clean_env": True},
        {"inputs": ["*.c", "*.h"]},
        {"outputs": ["b.o"]},
    ],
)
def test_every_part_of_the_definition_changes_the_command_digest(change: dict[str, object]) -> None:
    assert _digest(**change) != _digest()


def test_the_key_covers_variables_paths_sizes_and_hashes() -> None:
    files = [("a.c", 3, "h1"), ("b.c", 4, "h2")]
    key = cache_key("cmd", {"region": "eu"}, files)
    assert key.startswith("v1:")
    assert cache_key("cmd", {"region": "eu"}, list(reversed(files))) == key  # sorted by path
    assert cache_key("cmd2", {"region": "eu"}, files) != key
    assert cache_key("cmd", {"region": "us"}, files) != key
    assert cache_key("cmd", {"region": "eu"}, [("a.c", 3, "h1")]) != key  # a removed file
    assert cache_key("cmd", {"region": "eu"}, [*files, ("c.c", 1, "h3")]) != key  # an added one
    assert cache_key("cmd", {"region": "eu"}, [("a.c", 3, "hX"), files[1]]) != key
    assert cache_key("cmd", {"region": "eu"}, [("a.c", 5, "h1"), files[1]]) != key
    assert cache_key("cmd", {"region": "eu"}, [("z.c", 3, "h1"), files[1]]) != key  # renamed


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    cmd=_text,
    env=st.dictionaries(_text, _text, max_size=4),
    working_dir=_text,
    clean_env=st.booleans(),
    inputs=st.lists(_text, max_size=3),
    outputs=st.lists(_text, max_size=3),
)
def test_the_canonical_command_is_the_sorted_compact_json(
    cmd: str,
    env: dict[str, str],
    working_dir: str,
    clean_env: bool,
    inputs: list[str],
    outputs: list[str],
) -> None:
    """The hand-written encoding gives the bytes of ``json.dumps`` (records stay valid)."""
    parts = {
        "cmd": cmd,
        "env": env,
        "working_dir": working_dir,
        "clean_env": clean_env,
        "inputs": inputs,
        "outputs": outputs,
    }
    expected = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_command(**parts) == expected  # type: ignore[arg-type]
    digest = hashlib.sha256(expected.encode("utf-8")).hexdigest()
    assert command_digest(**parts) == digest  # type: ignore[arg-type]
