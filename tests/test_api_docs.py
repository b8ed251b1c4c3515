"""docs/api.md: every Python example runs, in order, as one script, and its asserts hold."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

API_MD = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", API_MD.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_the_guide_has_the_promised_examples() -> None:
    text = "\n".join(_blocks())
    for needle in ("parse_workflow_text", "progress=", "cancel=", ".resume(", "list_runs"):
        assert needle in text, needle


def test_every_example_in_the_api_guide_runs(tmp_path: Path) -> None:
    script = tmp_path / "api_examples.py"
    script.write_text("\n\n".join(_blocks()), encoding="utf-8")
    env = dict(os.environ, WF_HOME=str(tmp_path / "home"))
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # Examples use their own database and logs directory, never the configured ones.
    assert not (tmp_path / "home").exists()


def test_the_top_level_package_exports_the_api_lazily() -> None:
    code = (
        "import sys, wf\n"
        "assert 'wf.dag' not in sys.modules and 'wf.storage' not in sys.modules\n"
        "from wf import load_dag, Store, SequentialExecutor, ProgressEvent, WorkflowError\n"
        "from wf.contextmap import interpolate\n"
        "assert callable(interpolate) and interpolate('{{.a}}', {'a': 1}) == '1'\n"
        "missing = [n for n in wf.__all__ if getattr(wf, n, None) is None]\n"
        "assert not missing, missing\n"
        "assert issubclass(WorkflowError, wf.WfError)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
