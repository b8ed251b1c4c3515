"""Pausing the cyclic garbage collector while large acyclic structures are built."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector, if it is enabled, for the duration of the block.

    Parsing and building allocate tens of thousands of small containers (TOML tables, task
    definitions, nodes, edge lists) that never form reference cycles. The collector would
    rescan them again and again while they accumulate: about a third of the time of loading a
    10,000-task workflow. Reference counting frees everything as usual, and the collector is
    re-enabled on the way out, also when an error is raised.
    """
    was_enabled = gc.isenabled()
    if was_enabled:
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
