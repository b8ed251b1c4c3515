"""Registered outputs: the ``register`` line and the ``WF_OUTPUT`` side channel.

See docs/variables.md#wf_output.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from wf.contextmap import RESERVED_NAMES
from wf.errors import SecurityError, WfError
from wf.security import validate_variable_name

WF_OUTPUT_MAX_BYTES = 1024 * 1024


class OutputError(WfError):
    """A problem with registered outputs; it fails the attempt (which keeps exit code 0)."""


def register_value(stdout_tail: bytes) -> str:
    """The last line of the stdout tail that is non-empty after trimming, trimmed ("" if none)."""
    text = stdout_tail.decode("utf-8", errors="replace")
    for line in reversed(text.splitlines()):
        stripped = line.strip()
        if stripped:
            return stripped
    return ""


def check_output_name(name: str, prefix: str) -> None:
    """Raise OutputError if NAME is not a valid, unreserved variable name."""
    try:
        validate_variable_name(name)
    except SecurityError:
        raise OutputError(f'{prefix}invalid variable name "{name}"') from None
    if name in RESERVED_NAMES:
        raise OutputError(f'{prefix}variable "{name}" is reserved')


def read_output_file(path: str | Path) -> tuple[bytes | None, str | None]:
    """The content of a ``WF_OUTPUT`` file (at most 1 MiB + 1 byte) and why it could not be read.

    ``(None, None)`` when there is no file (wf does not create it: the task's ``>>`` does). Only
    a regular file is read, without following a symbolic link and without blocking (a task may
    leave a FIFO or a device there); a file others may read is made 0600.
    """
    flags = os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"cannot read WF_OUTPUT file: {exc.strerror or exc}"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, "WF_OUTPUT is not a regular file"
        if info.st_mode & 0o077:  # created by the task's `>>` under its umask: made private
            with contextlib.suppress(OSError):
                os.fchmod(fd, 0o600)
        if info.st_size == 0:
            return b"", None
        if info.st_size > WF_OUTPUT_MAX_BYTES:
            return None, "WF_OUTPUT file exceeds 1 MiB"
        chunks: list[bytes] = []
        size = 0
        while size <= WF_OUTPUT_MAX_BYTES:
            chunk = os.read(fd, WF_OUTPUT_MAX_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks), None
    except OSError as exc:
        return None, f"cannot read WF_OUTPUT file: {exc.strerror or exc}"
    finally:
        os.close(fd)


def parse_output_file(path: str | Path) -> list[tuple[str, str]]:
    """Parse the ``WF_OUTPUT`` file at PATH (see ``parse_output``)."""
    data, error = read_output_file(path)
    if error is not None:
        raise OutputError(error)
    return parse_output(data)


def parse_output(data: bytes | None) -> list[tuple[str, str]]:
    """Parse ``WF_OUTPUT`` content into (key, value) pairs in file order, later duplicates
    winning.

    Raises OutputError for content over 1 MiB, non-UTF-8 content, or an invalid line.
    """
    return parse_output_secrets(data)[0]


def parse_output_secrets(data: bytes | None) -> tuple[list[tuple[str, str]], set[str]]:
    """``parse_output``, and the names of the values written as ``secret KEY=VALUE``."""
    secret: set[str] = set()
    if not data:
        return [], secret
    if len(data) > WF_OUTPUT_MAX_BYTES:
        raise OutputError("WF_OUTPUT file exceeds 1 MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise OutputError("WF_OUTPUT file is not valid UTF-8") from None
    pairs: dict[str, str] = {}
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r")
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if "=" not in line:
            raise OutputError(f"WF_OUTPUT line {number}: expected key=value")
        key, value = line.split("=", 1)
        key = key.strip()
        marked = key.split(None, 1)
        if len(marked) == 2 and marked[0] == "secret":  # docs/secrets.md
            key = marked[1].strip()
            secret.add(key)
        else:
            secret.discard(key)
        check_output_name(key, f"WF_OUTPUT line {number}: ")
        pairs.pop(key, None)
        pairs[key] = value
    return list(pairs.items()), secret
