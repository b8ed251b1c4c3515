"""SHA-256 of short texts (fingerprints, trace IDs) without loading OpenSSL at start-up."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["sha256_digest", "sha256_hex"]


def _constructor() -> Callable[[bytes], Any]:
    """CPython's built-in SHA-256 (``_sha2`` from 3.12, ``_sha256`` before): ``hashlib``
    loads OpenSSL's libcrypto on import (≈2 ms of every command's start-up), for digests of a
    few hundred bytes where its speed does not matter. ``hashlib`` when neither is built in."""
    for name in ("_sha2", "_sha256"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        sha256: Callable[[bytes], Any] | None = getattr(module, "sha256", None)
        if sha256 is not None:
            return sha256
    import hashlib

    return hashlib.sha256


_SHA256 = _constructor()


def sha256_digest(data: bytes) -> bytes:
    """The 32-byte SHA-256 digest of DATA."""
    return bytes(_SHA256(data).digest())


def sha256_hex(data: bytes) -> str:
    """The SHA-256 digest of DATA as 64 lowercase hex digits."""
    return str(_SHA256(data).hexdigest())
