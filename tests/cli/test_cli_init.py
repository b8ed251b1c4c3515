"""``wf init [--example]`` (docs/cli.md#wf-init)."""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from wf.config import CONFIG_KEYS, PATH_KEYS

Wf = Callable[..., tuple[int, str, str]]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def default_umask() -> Iterator[None]:
    """The usual umask, so that the documented modes are what the filesystem shows."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_init_creates_the_home_layout_and_reports_the_paths(wf: Wf, wf_home: Path) -> None:
    code, out, err = wf("init")
    assert code == 0, err
    assert "✓ Project initialised successfully" in out
    assert f"Config:    {wf_home / 'config.toml'}" in out
    assert f"Workflows: {wf_home / 'workflows'}" in out
    assert f"Logs:      {wf_home / 'logs'}" in out
    assert f"Database:  {wf_home / 'wf.db'}" in out
    assert f"Next: add a workflow to {wf_home / 'workflows'} and run 'wf run NAME'" in out
    assert (wf_home / "workflows").is_dir()
    assert (wf_home / "logs").is_dir()
    assert (wf_home / "wf.db").is_file()
    assert not (wf_home / "workflows" / "hello.toml").exists()


@pytest.mark.usefixtures("default_umask")
def test_init_uses_the_documented_modes(wf: Wf, wf_home: Path) -> None:
    assert wf("init")[0] == 0
    assert mode(wf_home / "workflows") == 0o755
    assert mode(wf_home / "logs") == 0o700
    assert mode(wf_home / "wf.db") == 0o600
    assert mode(wf_home / "config.toml") == 0o600
    # the database lives in a 0700 directory (docs/configuration.md#paths), here the home itself
    assert mode(wf_home) == 0o700


def test_config_file_lists_every_key_commented_out(wf: Wf, wf_home: Path) -> None:
    assert wf("init")[0] == 0
    text = (wf_home / "config.toml").read_text(encoding="utf-8")
    for key in CONFIG_KEYS:
        assert f"# {key} = " in text, key
    for key in PATH_KEYS:
        assert f"# paths.{key} " in text, key
    # all commented out, and no table is left open: a line appended later is top-level
    assert tomllib.loads(text) == {}


def test_config_file_mentions_the_defaults(wf: Wf, wf_home: Path) -> None:
    assert wf("init")[0] == 0
    text = (wf_home / "config.toml").read_text(encoding="utf-8")
    for default in ('"warn"', '"sequential"', "= 4", '"5s"', "67108864"):
        assert default in text


def test_example_writes_a_valid_two_task_hello_workflow(wf: Wf, wf_home: Path) -> None:
    code, _, err = wf("init", "--example")
    assert code == 0, err
    assert (wf_home / "workflows" / "hello.toml").is_file()
    code, out, _ = wf("validate", "hello")
    assert code == 0
    assert "✓ PASS hello" in out
    assert "Tasks: 2" in out


def test_example_runs_successfully(wf: Wf) -> None:
    assert wf("init", "--example")[0] == 0
    code, out, err = wf("run", "hello")
    assert code == 0, err
    assert "✓ SUCCESS" in out


def test_init_is_idempotent_and_keeps_existing_files(wf: Wf, wf_home: Path) -> None:
    assert wf("init", "--example")[0] == 0
    config = wf_home / "config.toml"
    hello = wf_home / "workflows" / "hello.toml"
    config.write_text('log_level = "error"\n', encoding="utf-8")
    hello.write_text('[tasks.mine]\ncmd = "true"\n', encoding="utf-8")
    code, out, _ = wf("init", "--example")
    assert code == 0
    assert "initialised" in out
    assert config.read_text(encoding="utf-8") == 'log_level = "error"\n'
    assert hello.read_text(encoding="utf-8") == '[tasks.mine]\ncmd = "true"\n'


def test_init_creates_the_config_file_named_by_config(wf: Wf, workdir: Path) -> None:
    code, out, err = wf("--config", "conf/wf.toml", "init")
    assert code == 0, err
    path = workdir / "conf" / "wf.toml"
    assert path.is_file()
    assert mode(path) == 0o600
    assert f"Config:    {path}" in out


def test_init_without_home_uses_the_platform_dirs(
    wf: Wf, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("WF_HOME")
    code, out, err = wf("init")
    assert code == 0, err
    if os.name == "posix" and os.uname().sysname == "Linux":
        assert (tmp_path / "xdg-config" / "wf" / "config.toml").is_file()
        assert (tmp_path / "xdg-data" / "wf" / "wf.db").is_file()
        assert str(tmp_path / "xdg-data" / "wf" / "workflows") in out


def test_home_flag_wins_over_wf_home(wf: Wf, wf_home: Path, tmp_path: Path) -> None:
    other = tmp_path / "other-home"
    code, out, _ = wf("--home", str(other), "init")
    assert code == 0
    assert (other / "wf.db").is_file()
    assert not wf_home.exists()
    assert f"Database:  {other / 'wf.db'}" in out


def test_init_warns_about_unknown_keys_in_an_existing_config(wf: Wf, wf_home: Path) -> None:
    wf_home.mkdir()
    (wf_home / "config.toml").write_text("max_paralel = 3\n", encoding="utf-8")
    code, _, err = wf("init")
    assert code == 0
    assert 'warning: config: unknown key "max_paralel" (did you mean "max_parallel"?)' in err
