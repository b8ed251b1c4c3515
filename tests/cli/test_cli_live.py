"""The live view on a real terminal (a pseudo-terminal): Ctrl+C messages and a clean screen."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cli_samples import WriteWorkflow, wf_command

pytestmark = pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals: POSIX")

_CONTROL = re.compile(r"\x1b\[(\d*)([A-Za-z])")


def screen(output: str) -> list[str]:
    """The lines a terminal shows after OUTPUT (handles the escapes the live view uses)."""
    lines = [""]
    row = 0
    pos = 0
    while pos < len(output):
        match = _CONTROL.match(output, pos)
        if match:
            count, code = int(match[1] or 1), match[2]
            if code == "F":  # cursor up COUNT lines, to column 0
                row = max(0, row - count)
            elif code == "J":  # erase from the cursor to the end of the screen
                del lines[row + 1 :]
                lines[row] = ""
            pos = match.end()
            continue
        char = output[pos]
        pos += 1
        if char == "\n":
            row += 1
            if row == len(lines):
                lines.append("")
        elif char != "\r":
            lines[row] += char
    return [line for line in lines if line]


def _read(fd: int, until: float, want: str | None, buffer: bytearray) -> None:
    while time.monotonic() < until:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            buffer.extend(chunk)
        if want is not None and want in buffer.decode("utf-8", "replace"):
            return


def test_ctrl_c_messages_go_through_the_live_view(
    write_workflow: WriteWorkflow, wf_home: Path
) -> None:
    write_workflow("slow", '[tasks.wait]\ncmd = "sleep 30"\nkill_grace = "0.2s"\n')
    leader, follower = os.openpty()
    env = dict(os.environ, TERM="xterm", NO_COLOR="1", COLUMNS="80", LINES="24")
    process = subprocess.Popen(
        [*wf_command(), "run", "slow"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        close_fds=True,
    )
    os.close(follower)
    output = bytearray()
    try:
        _read(leader, time.monotonic() + 30, "attempt 1", output)  # the status area is drawn
        assert "attempt 1" in output.decode("utf-8", "replace")
        process.send_signal(signal.SIGINT)
        _read(leader, time.monotonic() + 30, "Error: run", output)
        process.wait(timeout=30)
        _read(leader, time.monotonic() + 1, None, output)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)
    assert process.returncode == 130
    text = output.decode("utf-8", "replace")
    shown = screen(text)
    assert "cancelling run (press Ctrl+C again to kill immediately)" in shown
    # No status-area line is left behind: neither the header nor the counters.
    assert not [line for line in shown if line.startswith("slow  run ")]
    assert not [line for line in shown if line.lstrip().startswith("done ")]
    assert any(line.startswith("Status:") and "CANCELLED" in line for line in shown)
