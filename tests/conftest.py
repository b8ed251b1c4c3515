"""Project-wide fixtures: every test runs hermetically in a tmp WF_HOME and a tmp cwd."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

# Settings that would leak the developer's configuration into a test (docs/configuration.md#keys).
WF_ENV_VARS = (
    "WF_HOME",
    "WF_PATHS_WORKFLOWS",
    "WF_PATHS_LOGS",
    "WF_PATHS_DATABASE",
    "WF_LOG_LEVEL",
    "WF_ON_FAILURE_HOOK",
    "WF_DEFAULT_EXECUTOR",
    "WF_MAX_PARALLEL",
    "WF_KILL_GRACE",
    "WF_LOG_MAX_BYTES",
    "WF_EXECUTOR",
    "WF_DASK_SCHEDULER",
)


class HermeticPaths(NamedTuple):
    """Where the autouse fixture put this test's state."""

    home: Path
    cwd: Path


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> HermeticPaths:
    """A tmp WF_HOME, no WF_* settings, XDG dirs inside tmp, no colour, tmp cwd.

    It asks for no overridable fixture, so a suite may redefine ``wf_home`` (and chdir
    elsewhere) in its own conftest; such autouse fixtures run after this one.
    """
    home = tmp_path / "wf-home"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    for name in WF_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WF_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(cwd)
    return HermeticPaths(home, cwd)


@pytest.fixture
def wf_home(_hermetic_env: HermeticPaths) -> Path:
    """The WF_HOME of this test (not created: commands create it on demand)."""
    return _hermetic_env.home


@pytest.fixture
def workdir(_hermetic_env: HermeticPaths) -> Path:
    """The current directory of this test."""
    return _hermetic_env.cwd


class CliResult(NamedTuple):
    """What one ``wf`` invocation produced."""

    code: int
    out: str
    err: str


@pytest.fixture
def wf(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``wf.cli.main(argv)`` in-process: ``code, out, err = wf("run", "hello")``."""
    from wf.cli import main

    def invoke(*argv: str) -> CliResult:
        capsys.readouterr()  # drop anything printed before this invocation
        code = main(list(argv))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke
