"""Registered outputs (SPEC §2.5): the ``register`` line and the ``WF_OUTPUT`` side channel."""

from __future__ import annotations

import os
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


def parse_output_file(path: str | Path) -> list[tuple[str, str]]:
    """Parse a ``WF_OUTPUT`` file into (key, value) pairs in file order, later duplicates winning.

    Raises OutputError for a file over 1 MiB, non-UTF-8 content, or an invalid line.
    """
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        return []
    if size == 0:
        return []
    if size > WF_OUTPUT_MAX_BYTES:
        raise OutputError("WF_OUTPUT file exceeds 1 MiB")
    with open(path, "rb") as fh:
        data = fh.read(WF_OUTPUT_MAX_BYTES + 1)
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
        check_output_name(key, f"WF_OUTPUT line {number}: ")
        pairs.pop(key, None)
        pairs[key] = value
    return list(pairs.items())
