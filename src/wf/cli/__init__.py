"""The wf command line: thin adapters over the library (SPEC §7)."""

from __future__ import annotations

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

    return invoke(list(sys.argv[1:] if argv is None else argv))


def run_main() -> None:
    """Console-script entry point."""
    Process.standalone = True
    sys.exit(main())
