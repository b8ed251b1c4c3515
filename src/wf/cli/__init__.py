"""The wf command line: thin adapters over the library (docs/cli.md)."""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Sequence

__all__ = ["Process", "imports_done", "main", "run_main"]


class Process:
    """What runs the command line: ``standalone`` when this process is the ``wf`` program
    itself (``run_main``), not a program that embeds it or calls ``main`` (tests)."""

    standalone = False
    #: The cyclic garbage collector is paused for the start-up imports (``run_main``).
    gc_paused = False


def imports_done() -> None:
    """The command's modules are imported: resume the garbage collector paused by
    ``run_main``, with what the imports built (modules, classes, functions: alive until
    the process ends) moved out of its sight (``gc.freeze``). The collector then neither
    rescans those objects during the run nor walks them all once more at exit (≈15 ms)."""
    if Process.gc_paused:
        Process.gc_paused = False
        gc.freeze()
        gc.enable()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the wf command line with ARGV and return the exit code; never raises."""
    from wf.cli.app import invoke

    _tolerant_streams()
    try:
        return invoke(list(sys.argv[1:] if argv is None else argv))
    finally:
        imports_done()


def run_main() -> None:
    """Console-script entry point."""
    Process.standalone = True
    if gc.isenabled():
        # The imports allocate tens of thousands of objects and no garbage cycles: the
        # collector would only rescan them as they accumulate (see ``imports_done``).
        gc.disable()
        Process.gc_paused = True
    sys.exit(main())


def _tolerant_streams() -> None:
    """Text that stdout or stderr cannot encode (``PYTHONIOENCODING=ascii``, a latin-1 locale)
    is written with replacement characters instead of failing the command."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", None) == "strict":
            with contextlib.suppress(ValueError, OSError):  # cannot change now: leave it
                reconfigure(errors="replace")
