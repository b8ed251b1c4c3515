"""The wf command line: thin adapters over the library (docs/cli.md)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence

__all__ = ["Process", "main", "run_main"]


class Process:
    """What runs the command line: ``standalone`` when this process is the ``wf`` program
    itself (``run_main``), not a program that embeds it or calls ``main`` (tests)."""

    standalone = False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the wf command line with ARGV and return the exit code; never raises."""
    from wf.cli.app import invoke

    _tolerant_streams()

    return invoke(list(sys.argv[1:] if argv is None else argv))


def run_main() -> None:
    """Console-script entry point."""
    Process.standalone = True
    sys.exit(main())


def _tolerant_streams() -> None:
    """Text that stdout or stderr cannot encode (``PYTHONIOENCODING=ascii``, a latin-1 locale)
    is written with replacement characters instead of failing the command."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", None) == "strict":
            with contextlib.suppress(ValueError, OSError):  # cannot change now: leave it
                reconfigure(errors="replace")
