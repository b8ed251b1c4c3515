"""Encodings: when stdout cannot encode wf's text (``PYTHONIOENCODING=ascii``, a latin-1
terminal), every command degrades to replacement characters, never "internal error:
UnicodeEncodeError"."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from reliability_helpers import record, wf_cmd, wf_env

pytestmark = pytest.mark.slow

FLOW = """\
description = "déjà vu ✓ 日本"

[tasks.a]
cmd = 'echo "héllo ✓ 日本"; echo "✗ on stderr" >&2'

[tasks.b]
cmd = 'echo "b ✓"; exit 1'
depends_on = ["a"]
"""


def _wf(home: Path, encoding: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        wf_cmd(*args),
        env=wf_env(home, PYTHONIOENCODING=encoding, LC_ALL="C"),
        capture_output=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_every_command_degrades_to_replacement_characters(tmp_path: Path, encoding: str) -> None:
    home = tmp_path / "home"
    flow = tmp_path / "uni.toml"
    flow.write_text(FLOW, encoding="utf-8")
    ran = _wf(home, encoding, "run", str(flow), "--print-output")
    assert ran.returncode == 1
    listed = _wf(home, "utf-8", "runs", "--json")
    run_id = json.loads(listed.stdout)["runs"][0]["id"]
    commands = [
        ("run", str(flow), "--plain", "--print-output"),
        ("run", str(flow), "--json"),
        ("run", str(flow), "--dry-run"),
        ("validate", str(flow)),
        ("validate", str(flow), "--json"),
        ("graph", str(flow)),
        ("graph", str(flow), "-f", "mermaid"),
        ("graph", str(flow), "-f", "html"),
        ("runs",),
        ("runs", "--json"),
        ("logs", run_id),
        ("logs", run_id, "a", "-n", "5"),
        ("inspect", run_id),
        ("inspect", run_id, "--json"),
        ("audit", run_id),
        ("diff", run_id, run_id),
        ("status", run_id),
        ("export", run_id),
        ("health",),
        ("list", "--detailed"),
        ("--help",),
    ]
    for args in commands:
        done = _wf(home, encoding, *args)
        # (click writes UTF-8 where the encoding is ASCII, which it takes for a misconfiguration)
        text = (done.stdout + done.stderr).decode("utf-8", errors="replace")
        assert done.returncode in (0, 1), (args, text)
        assert "internal error" not in text, (args, text)
        assert "Traceback" not in text, (args, text)
    graph = _wf(home, encoding, "graph", str(flow)).stdout.decode(encoding)  # strict: it fits
    assert ("d?j? vu ? ??" if encoding == "ascii" else "déjà vu ? ??") in graph
    record("encodings", case=f"PYTHONIOENCODING={encoding}: {len(commands)} commands", held=True)
