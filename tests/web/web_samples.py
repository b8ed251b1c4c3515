"""Shared pieces of the web UI tests: sample workflows, hostile text, result records."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOSTILE = '<script>alert("x")</script>'
HOSTILE_ATTR = '"><img src=x onerror=alert(1)>'

SAMPLE = """
name = "sample"
description = "A sample <b>workflow</b>"

[tasks.fetch]
name = "Fetch {hostile_attr}"
description = "{hostile}"
cmd = "printf '%s\\\\n' '{hostile}' '{hostile_attr}'; echo 'evil={hostile}' >> \\"$WF_OUTPUT\\""

[tasks.build]
cmd = "echo building; echo oops >&2; exit 3"
depends_on = ["fetch"]

[tasks.publish]
cmd = "echo publish"
depends_on = ["build"]
"""

HELLO = """
name = "hello"
tags = ["nightly"]

[tasks.greet]
cmd = "echo hello"

[tasks.sign]
cmd = "echo signed"
depends_on = ["greet"]
"""


@dataclass
class History:
    """What the fixture recorded: a failed and a successful run, and the home."""

    home: Path
    failed: str
    success: str
    runs: list[str]


def escape_toml(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


@dataclass
class UiServer:
    """A real ``wf ui --port 0`` process and the address it printed."""

    process: Any
    url: str

    def stop(self) -> int:
        """Ctrl+C, then the exit code."""
        import signal
        import subprocess

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise
        return int(self.process.returncode)
