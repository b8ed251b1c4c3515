"""Run IDs: 27 base62 characters encoding a creation second and 16 random bytes.

See docs/storage.md#run-ids-and-times.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RUN_ID_LENGTH = 27
#: Unix time of the first second an ID can encode (2014-05-13T16:53:20Z).
EPOCH = 1_400_000_000
RANDOM_BYTES = 16
_MAX_SECONDS = 2**32 - 1
_INDEX = {c: i for i, c in enumerate(ALPHABET)}


def new_run_id(now: datetime | float | None = None, rand: bytes | None = None) -> str:
    """A new run ID for the second NOW (default: the current time) and 16 bytes RAND.

    Raises ValueError when NOW is outside the encodable range or RAND is not 16 bytes.
    """
    if now is None:
        timestamp = datetime.now(UTC).timestamp()
    elif isinstance(now, datetime):
        timestamp = (now if now.tzinfo else now.replace(tzinfo=UTC)).timestamp()
    else:
        timestamp = float(now)
    seconds = int(timestamp // 1) - EPOCH
    if not 0 <= seconds <= _MAX_SECONDS:
        raise ValueError(f"time {timestamp} cannot be encoded in a run ID")
    if rand is None:
        rand = os.urandom(RANDOM_BYTES)
    if len(rand) != RANDOM_BYTES:
        raise ValueError(f"run ID randomness must be {RANDOM_BYTES} bytes, got {len(rand)}")
    value = int.from_bytes(seconds.to_bytes(4, "big") + rand, "big")
    digits: list[str] = []
    while value:
        value, rest = divmod(value, 62)
        digits.append(ALPHABET[rest])
    return "".join(reversed(digits)).rjust(RUN_ID_LENGTH, "0")


def decode_run_id(run_id: str) -> tuple[datetime, bytes]:
    """The creation second and random bytes of RUN_ID. Raises ValueError for a malformed ID."""
    if len(run_id) != RUN_ID_LENGTH:
        raise ValueError(f"run ID must be {RUN_ID_LENGTH} characters: {run_id!r}")
    value = 0
    for char in run_id:
        digit = _INDEX.get(char)
        if digit is None:
            raise ValueError(f"run ID has a non-base62 character: {run_id!r}")
        value = value * 62 + digit
    if value >= 2**160:
        raise ValueError(f"run ID is out of range: {run_id!r}")
    raw = value.to_bytes(20, "big")
    seconds = int.from_bytes(raw[:4], "big") + EPOCH
    return datetime.fromtimestamp(seconds, UTC), raw[4:]


def is_run_id(text: str) -> bool:
    """Whether TEXT is a well-formed run ID."""
    try:
        decode_run_id(text)
    except ValueError:
        return False
    return True
