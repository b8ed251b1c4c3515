"""Workflow texts and helpers shared by the command-line tests."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

WriteWorkflow = Callable[[str, str], Path]

DIAMOND = """\
    description = "a diamond with a condition"
    tags = ["nightly", "etl"]

    [tasks.a]
    cmd = "echo a"
    register = "x"

    [tasks.b]
    cmd = "echo b"
    depends_on = ["a"]
    if = 'x == "a"'

    [tasks.c]
    cmd = "echo c"
    depends_on = ["a"]

    [tasks.d]
    cmd = "echo d"
    depends_on = ["b", "c"]
"""

FAILING = """\
    [tasks.prepare]
    cmd = "echo preparing"

    [tasks.build]
    name = "Build site"
    cmd = "echo compiling; echo boom >&2; exit 3"
    depends_on = ["prepare"]

    [tasks.publish]
    cmd = "echo publishing"
    depends_on = ["build"]
"""


def wf_command() -> list[str]:
    """The installed ``wf`` console script of this interpreter, else ``python -m wf``."""
    script = Path(sys.executable).parent / "wf"
    return [str(script)] if script.exists() else [sys.executable, "-m", "wf"]
