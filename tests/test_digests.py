"""wf.digests gives hashlib's SHA-256 (it replaces hashlib on the start-up path)."""

from __future__ import annotations

import hashlib

from wf.digests import sha256_digest, sha256_hex


def test_digests_equal_hashlib() -> None:
    for data in (b"", b"abc", "é\x1f☃".encode(), bytes(range(256)) * 40):
        assert sha256_hex(data) == hashlib.sha256(data).hexdigest()
        assert sha256_digest(data) == hashlib.sha256(data).digest()
