"""Secrets (docs/secrets.md): where their values come from, and masking them wherever wf writes.

Every value of ``MIN_LENGTH`` or more characters is replaced by ``***`` in text (``mask``),
in byte streams cut at arbitrary points (``StreamMasker``, for attempt logs) and in files
(``scrub_file``). While a run that has secrets is going on, its values are registered here
(``active``), and the store masks every text it writes with them (``mask_params``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wf.errors import WfError

__all__ = [
    "MASK",
    "MIN_LENGTH",
    "Masker",
    "SecretError",
    "Secrets",
    "StreamMasker",
    "active",
    "mask_params",
    "mask_text",
    "parse_secret_args",
    "read_env_file",
    "resolve_secrets",
    "scrub_file",
]

MASK = "***"
MIN_LENGTH = 4
_ENV_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Stored times, which the store must keep intact whatever a secret looks like: a PIN "2026"
# must not break every timestamp.
_STRUCTURAL_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


class SecretError(WfError):
    """A declared secret is missing, or an env file or --secret is unusable (exit code 2)."""


def _encodings(value: str) -> list[bytes]:
    """The byte forms of VALUE a task may write: UTF-8, and Latin-1 when that differs."""
    forms = [value.encode("utf-8", "surrogatepass")]
    with contextlib.suppress(UnicodeEncodeError):
        latin = value.encode("latin-1")
        if latin not in forms:
            forms.append(latin)
    return forms


class Masker:
    """A set of secret values and the replacements that hide them (thread-safe)."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._text_re: re.Pattern[str] | None = None
        self._bytes_re: re.Pattern[bytes] | None = None
        self._longest = 0  # bytes of the longest byte form
        self.add(values)

    def add(self, values: Iterable[str]) -> bool:
        """Remember VALUES (those shorter than MIN_LENGTH are not masked); True if any is new."""
        new = {v for v in values if len(v) >= MIN_LENGTH} - self._values
        if not new:
            return False
        with self._lock:
            self._values |= new
            # Also as JSON escapes them, for the JSON columns (audit data, the graph record).
            texts = {
                form
                for v in self._values
                for form in (v, json.dumps(v)[1:-1], json.dumps(v, ensure_ascii=False)[1:-1])
            }
            ordered = sorted(texts, key=len, reverse=True)  # longest first
            self._text_re = re.compile("|".join(re.escape(v) for v in ordered))
            forms = sorted({f for v in self._values for f in _encodings(v)}, key=len, reverse=True)
            self._bytes_re = re.compile(b"|".join(re.escape(f) for f in forms))
            self._longest = len(forms[0])
        return True

    @property
    def values(self) -> tuple[str, ...]:
        """The masked values."""
        return tuple(self._values)

    def __bool__(self) -> bool:
        return bool(self._values)

    def text(self, text: str) -> str:
        """TEXT with every secret replaced by ``***``."""
        pattern = self._text_re
        if pattern is None or not text:
            return text
        return pattern.sub(MASK, text)

    def data(self, data: bytes) -> bytes:
        """DATA (whole, not a piece of a stream) with every secret's bytes replaced by ``***``."""
        pattern = self._bytes_re
        if pattern is None or not data:
            return data
        return pattern.sub(MASK.encode(), data)

    def stream(self) -> StreamMasker:
        """A masker for one byte stream written in pieces."""
        return StreamMasker(self._bytes_re, self._longest)


class StreamMasker:
    """Masks a byte stream fed in arbitrary chunks: a secret cut in two is still masked.

    The last ``longest - 1`` bytes are held back until the next chunk (or ``flush``) shows
    whether they start a secret.
    """

    def __init__(self, pattern: re.Pattern[bytes] | None, longest: int) -> None:
        self._pattern = pattern
        self._hold = max(longest - 1, 0)
        self._carry = b""

    def feed(self, chunk: bytes) -> bytes:
        """The masked bytes that are final after CHUNK."""
        if self._pattern is None:
            return chunk
        data = self._carry + chunk
        limit = len(data) - self._hold
        out: list[bytes] = []
        done = 0
        for match in self._pattern.finditer(data):
            if match.start() >= limit:
                break
            out.append(data[done : match.start()])
            out.append(MASK.encode())
            done = match.end()
        cut = max(done, limit)
        out.append(data[done:cut])
        self._carry = data[cut:]
        return b"".join(out)

    def flush(self) -> bytes:
        """The rest of the stream, masked (the stream is over)."""
        rest, self._carry = self._carry, b""
        if self._pattern is None:
            return rest
        return self._pattern.sub(MASK.encode(), rest)


# -- the active runs' secrets (for the store) ----------------------------------------------------

_lock = threading.Lock()
_active: dict[int, Masker] = {}
_union: list[Masker] = [Masker()]  # the masker of every active value, rebuilt on change


@contextlib.contextmanager
def active(masker: Masker) -> Iterator[None]:
    """While the block runs, the store masks MASKER's values (and those it learns) too."""
    key = id(masker)
    with _lock:
        _active[key] = masker
    try:
        yield
    finally:
        with _lock:
            _active.pop(key, None)


def _current() -> Masker | None:
    # No active masker holds a value (a run without secrets, the usual case): nothing to build
    # or compare. ``tuple`` copies the maskers at once (the GIL), so no lock is needed here.
    if not any(tuple(_active.values())):
        return None
    with _lock:
        wanted = {v for m in _active.values() for v in m.values}
        if set(_union[0].values) != wanted:
            _union[0] = Masker(wanted)
        return _union[0]


def mask_text(text: str) -> str:
    """TEXT masked with the secrets of the runs going on."""
    masker = _current()
    return masker.text(text) if masker is not None else text


def mask_params(params: Any) -> Any:
    """SQL parameters with every text masked (the same object when no run has secrets)."""
    masker = _current()
    if masker is None or not masker:
        return params
    structural = _STRUCTURAL_RE.fullmatch
    return tuple(masker.text(p) if isinstance(p, str) and not structural(p) else p for p in params)


def scrub_file(path: str | Path, masker: Masker) -> None:
    """Rewrite PATH with MASKER's values masked (nothing happens when it holds none)."""
    if not masker:
        return
    from wf.files import open_regular, open_regular_file

    try:  # a FIFO or a link a task put there is not read (and cannot hang wf)
        with open_regular_file(path) as fh:
            data = fh.read()
    except OSError:
        return  # no file: nothing to hide
    masked = masker.data(data)
    if masked != data:
        fd = open_regular(path, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, masked)
        finally:
            os.close(fd)


# -- where the values come from -----------------------------------------------------------------


@dataclass
class Secrets:
    """The secrets of one run: declared environment secrets and secret variables."""

    #: Declared in the workflow's ``secrets``: name -> value, given to every task's environment.
    env: dict[str, str] = field(default_factory=dict)
    #: ``--secret KEY=VALUE`` (and on resume, secret WF_OUTPUT variables given again).
    variables: dict[str, str] = field(default_factory=dict)

    def masker(self) -> Masker:
        """A masker of every value."""
        return Masker([*self.env.values(), *self.variables.values()])


def read_env_file(path: str | Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of PATH; refused when group or others may read or write it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise SecretError(f"cannot read env file {path}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SecretError(f"env file {path} is not a regular file")
        if info.st_mode & 0o077:
            raise SecretError(
                f"env file {path} is readable or writable by others (mode "
                f"{stat.S_IMODE(info.st_mode):04o}): run chmod 600 {path}"
            )
        with os.fdopen(os.dup(fd), "rb") as fh:
            raw = fh.read()
    finally:
        os.close(fd)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretError(f"env file {path} is not valid UTF-8") from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.removeprefix("export ").partition("=")
        key = key.strip()
        if not sep or not _ENV_KEY_RE.fullmatch(key):
            raise SecretError(f"env file {path} line {number}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def parse_secret_args(items: Iterable[str]) -> dict[str, str]:
    """``--secret KEY=VALUE`` options as a dict (split at the first ``=``)."""
    from wf.contextmap import RESERVED_NAMES
    from wf.security import validate_variable_name

    values: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SecretError(f"invalid --secret {key or item!r}: expected KEY=VALUE")
        try:
            validate_variable_name(key)
        except ValueError as exc:
            raise SecretError(f"invalid --secret: {exc}") from None
        if key in RESERVED_NAMES:
            raise SecretError(f'invalid --secret: variable "{key}" is reserved')
        values[key] = value
    return values


def resolve_secrets(
    names: Iterable[str],
    *,
    environ: Mapping[str, str],
    env_file: Mapping[str, str] | None = None,
    variables: Mapping[str, str] | None = None,
) -> Secrets:
    """The values of the declared NAMES (env file first, then ENVIRON), and VARIABLES.

    Raises SecretError naming every declared secret that has no value.
    """
    from_file = env_file or {}
    env: dict[str, str] = {}
    missing: list[str] = []
    for name in names:
        value = from_file.get(name, environ.get(name))
        if value is None or value == "":
            missing.append(name)
        else:
            env[name] = value
    if missing:
        raise SecretError(
            f"missing secret(s) {', '.join(missing)}: set them in the environment or an --env-file"
        )
    return Secrets(env=env, variables=dict(variables or {}))
