"""The cache key of a node (docs/caching.md): what must be equal for it to be up to date."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

#: The prefix of every cache key of this encoding (a record of another encoding is rechecked).
KEY_VERSION = "v1:"
#: One encoder for every digest (``json.dumps`` with options builds a new one per call).
_SORTED = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_PLAIN = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _digest(payload: object) -> str:
    canonical = _SORTED.encode(payload)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def command_digest(
    *,
    cmd: str,
    env: Mapping[str, str],
    working_dir: str,
    clean_env: bool,
    inputs: Sequence[str],
    outputs: Sequence[str],
) -> str:
    """SHA-256 of the node's interpolated definition: a change is ``command changed``."""
    return _digest(
        {
            "cmd": cmd,
            "env": dict(env),
            "working_dir": working_dir,
            "clean_env": clean_env,
            "inputs": list(inputs),
            "outputs": list(outputs),
        }
    )


def cache_key(
    command: str,
    variables: Mapping[str, str | None],
    files: Sequence[tuple[str, int, str]],
) -> str:
    """``v1:`` + SHA-256 over the command digest, the values of the variables the node reads,
    and (path, size, content hash) of every input file, sorted by path."""
    payload = [command, sorted(variables.items()), sorted(files)]
    canonical = _PLAIN.encode(payload)
    return KEY_VERSION + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
