"""What ``wf run`` loads at start-up (bench/README.md, start-up): the optional layers only when
the workflow uses them, and the garbage collector running again once the imports are done.

Each case runs the ``wf`` program (``run_main``) in a subprocess that writes, at exit, the
modules it imported and the collector's state.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

#: Modules a workflow without inputs, conditions, Dask or tracing has no use for.
OPTIONAL = [
    "wf.cache",
    "wf.cache.hashing",
    "wf.storage.cacherows",
    "wf.storage.readrows",
    "wf.contextmap.condition",
    "wf.executor.resume",
    "wf.executor.daskrunner",
    "wf.telemetry.sink",
    "wf.web",
    "hashlib",
    "decimal",
    "statistics",
    "shutil",
    "socket",
]

PROBE = """
import atexit, gc, json, sys
path = sys.argv[1]
def report():
    with open(path, "w") as fh:
        json.dump({"modules": sorted(sys.modules), "gc_enabled": gc.isenabled(),
                   "frozen": gc.get_freeze_count()}, fh)
atexit.register(report)
sys.argv = ["wf", *sys.argv[2:]]
from wf.cli import run_main
run_main()
"""


def _run(tmp_path: Path, workflow: str) -> dict[str, Any]:
    path = tmp_path / "flow.toml"
    path.write_text(textwrap.dedent(workflow), encoding="utf-8")
    report = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    home = str(tmp_path / "home")
    args = ["--home", home, "run", str(path), "--plain", "--var", "mode=fast"]
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(report), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(report.read_text())
    return data


def test_a_plain_workflow_loads_no_optional_layer(tmp_path: Path) -> None:
    data = _run(tmp_path, '[tasks.a]\ncmd = "true"\n[tasks.b]\ncmd = "true"\ndepends_on = ["a"]\n')
    loaded = sorted(set(OPTIONAL) & set(data["modules"]))
    assert loaded == []
    assert "wf.executor.engine" in data["modules"]  # the probe saw the run's own imports


def test_inputs_and_conditions_load_their_layers(tmp_path: Path) -> None:
    """The check above can fail: a workflow that uses the layers imports them."""
    (tmp_path / "in.txt").write_text("x")
    data = _run(
        tmp_path,
        """
        [tasks.a]
        cmd = "cp in.txt out.txt"
        inputs = ["in.txt"]
        outputs = ["out.txt"]
        [tasks.b]
        cmd = "true"
        if = "mode == 'fast'"
        depends_on = ["a"]
        """,
    )
    for module in ("wf.cache.hashing", "wf.storage.cacherows", "wf.contextmap.condition"):
        assert module in data["modules"]


def test_the_collector_runs_again_after_the_imports(tmp_path: Path) -> None:
    """``run_main`` pauses the collector for the imports; the command itself runs with it on,
    and what the imports built is frozen out of its sight."""
    data = _run(tmp_path, '[tasks.a]\ncmd = "true"\n')
    assert data["gc_enabled"] is True
    assert data["frozen"] > 1000
