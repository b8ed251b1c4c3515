"""Files of incremental runs (docs/caching.md): glob expansion, content hashes, cache keys."""

from wf.cache.globs import expand_globs
from wf.cache.hashing import FileHasher, FileInfo
from wf.cache.key import cache_key, command_digest

__all__ = ["FileHasher", "FileInfo", "cache_key", "command_digest", "expand_globs"]
