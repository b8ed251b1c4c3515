"""``json.dumps(doc, indent=2, ensure_ascii=False)``, the same text, faster for large documents.

With an indent, ``json.dumps`` falls back to its pure-Python encoder (one generator step per
token): a large part of ``wf runs --json -l 0`` over 10,000 runs. This encoder appends the
tokens to one list, handles the scalars of a container in the container's own loop, reuses the
``"key": `` text of objects at the same depth (the rows of a listing share their keys), and
escapes strings with the C function that ``json`` uses. A value it does not know (another
type, a key that is not a string) sends the whole document to ``json.dumps``, so the text is
always the same.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any

__all__ = ["dumps_indented"]

_INFINITY = float("inf")


class _Unsupported(Exception):
    """A value that only ``json.dumps`` itself knows how to write."""


class _Writer:
    """One document's tokens, and per depth the ``"key": `` texts already made."""

    def __init__(self, step: str) -> None:
        self.out: list[str] = []
        self.step = step
        self.keys: dict[str, dict[str, str]] = {}

    def value(self, value: Any, newline: str) -> None:
        text = _scalar(value)
        if text is not None:
            self.out.append(text)
        elif isinstance(value, dict):
            self.object(value, newline)
        else:
            self.array(value, newline)

    def object(self, value: dict[Any, Any], newline: str) -> None:
        if not value:
            self.out.append("{}")
            return
        inner = newline + self.step
        known = self.keys.get(inner)
        if known is None:
            known = self.keys[inner] = {}
        append = self.out.append
        append("{")
        first = True
        for key, item in value.items():
            # "," + newline + indent + "key": , made once per key and depth.
            prefix = known.get(key)
            if prefix is None:
                if not isinstance(key, str):
                    raise _Unsupported
                prefix = known[key] = "," + inner + encode_basestring(key) + ": "
            if first:
                prefix = prefix[1:]
                first = False
            # The common scalars inline: no call per value.
            if isinstance(item, str):
                append(prefix + encode_basestring(item))
            elif item is None:
                append(prefix + "null")
            elif isinstance(item, int) and not isinstance(item, bool):
                append(prefix + int.__repr__(item))
            else:
                append(prefix)
                self.value(item, inner)
        append(newline + "}")

    def array(self, value: list[Any] | tuple[Any, ...], newline: str) -> None:
        if not value:
            self.out.append("[]")
            return
        inner = newline + self.step
        separator = "[" + inner
        append = self.out.append
        for item in value:
            text = _scalar(item)
            if text is not None:
                append(separator + text)
            else:
                append(separator)
                self.value(item, inner)
            separator = "," + inner
        append(newline + "]")


def dumps_indented(document: Any, indent: int = 2) -> str:
    """``json.dumps(DOCUMENT, indent=INDENT, ensure_ascii=False)``."""
    writer = _Writer(" " * indent)
    try:
        writer.value(document, "\n")
    except (_Unsupported, RecursionError):
        return json.dumps(document, indent=indent, ensure_ascii=False)
    return "".join(writer.out)


def _scalar(value: Any) -> str | None:
    """The text of a scalar, in ``json``'s order of checks (None: a container)."""
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if value != value:  # noqa: PLR0124  (NaN)
            return "NaN"
        if value == _INFINITY:
            return "Infinity"
        if value == -_INFINITY:
            return "-Infinity"
        return float.__repr__(value)
    if isinstance(value, (list, tuple, dict)):
        return None
    raise _Unsupported
