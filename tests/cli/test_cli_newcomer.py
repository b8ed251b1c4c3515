"""What a newcomer meets on the command line: warnings before a run, config hints, messages."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path

from cli_samples import WriteWorkflow

from wf.config import default_config_text, load_config

Wf = Callable[..., tuple[int, str, str]]


def test_validate_and_run_warn_about_a_variable_nothing_sets(
    wf: Wf, write_workflow: WriteWorkflow
) -> None:
    write_workflow("greet", '[tasks.a]\ncmd = "echo {{.who}}"\n')
    code, out, _ = wf("validate", "greet")
    assert code == 0
    assert 'task a reads "who", which nothing sets' in out
    code, _, err = wf("run", "greet", "--plain")
    assert code == 1  # it really does fail: the warning came before the start
    assert 'warning: task a reads "who", which nothing sets' in err
    assert err.index("warning: task a reads") < err.index("Error:")
    code, _, err = wf("run", "greet", "--plain", "--var", "who=me")
    assert code == 0
    assert "nothing sets" not in err


# --- configuration ---------------------------------------------------------------------------


def test_a_top_level_key_inside_paths_gets_a_hint(wf: Wf, wf_home: Path) -> None:
    wf_home.mkdir(parents=True, exist_ok=True)
    (wf_home / "config.toml").write_text('[paths]\ndefault_executor = "parallel"\n')
    code, _, err = wf("list")
    assert code == 0
    assert (
        'warning: config: unknown key "paths.default_executor" (did you mean the top-level '
        '"default_executor"? put it above the [paths] table, or write it without "paths.")'
    ) in err


def test_a_path_key_at_the_top_level_gets_a_hint(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('workflows = "flows"\n')
    config = load_config(config_path=cfg, environ={})
    assert config.warnings == ['config: unknown key "workflows" (did you mean "paths.workflows"?)']


def test_a_line_appended_to_the_init_config_is_a_top_level_setting(wf: Wf, wf_home: Path) -> None:
    code, _, _ = wf("init")
    assert code == 0
    config_file = wf_home / "config.toml"
    assert config_file.read_text() == default_config_text()
    with config_file.open("a") as fh:
        fh.write('default_executor = "parallel"\n')
    config = load_config(config_path=config_file, environ={})
    assert config.warnings == []
    assert config.default_executor == "parallel"


def test_every_commented_default_of_the_init_config_loads_when_uncommented(
    tmp_path: Path,
) -> None:
    setting = re.compile(r"# ([a-z_.]+ *=.*)")
    text = "\n".join(
        setting.sub(r"\1", line) if setting.match(line) else line
        for line in default_config_text().splitlines()
    )
    assert "paths.logs" in text
    assert tomllib.loads(text)["paths"]["logs"] == "logs"
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    config = load_config(config_path=cfg, environ={})
    assert config.warnings == []
    assert config.logs_dir == tmp_path / "logs"
