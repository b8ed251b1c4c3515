"""The cache key of a node (docs/caching.md): what must be equal for it to be up to date."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from json.encoder import encode_basestring

#: The prefix of every cache key of this encoding (a record of another encoding is rechecked).
KEY_VERSION = "v1:"
#: One encoder for every key (``json.dumps`` with options builds a new one per call).
_PLAIN = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def canonical_command(
    *,
    cmd: str,
    env: Mapping[str, str],
    working_dir: str,
    clean_env: bool,
    inputs: Sequence[str],
    outputs: Sequence[str],
) -> str:
    """The node's interpolated definition as canonical JSON: exactly what ``json.dumps`` of
    ``{cmd, env, working_dir, clean_env, inputs, outputs}`` with sorted keys, compact
    separators and ``ensure_ascii=False`` gives, written out directly (it is built for every
    node of every run: the generic encoder costs several times more)."""
    q = encode_basestring
    env_text = ",".join([f"{q(k)}:{q(v)}" for k, v in sorted(env.items())])
    return (
        f'{{"clean_env":{"true" if clean_env else "false"},"cmd":{q(cmd)},"env":{{{env_text}}},'
        f'"inputs":[{",".join([q(p) for p in inputs])}],'
        f'"outputs":[{",".join([q(p) for p in outputs])}],"working_dir":{q(working_dir)}}}'
    )


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
    text = canonical_command(
        cmd=cmd,
        env=env,
        working_dir=working_dir,
        clean_env=clean_env,
        inputs=inputs,
        outputs=outputs,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
