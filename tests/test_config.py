"""Configuration and paths — flags > environment > config file > defaults.

See docs/configuration.md.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from wf.config import Config, ConfigError, load_config

Wf = Callable[..., tuple[int, str, str]]

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="XDG directories are the Linux platform dirs"
)


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    """A scratch directory for config files and homes, apart from the autouse WF_HOME."""
    path = tmp_path / "scratch"
    path.mkdir()
    return path


def env_of(tmp: Path, **values: str) -> dict[str, str]:
    """An environment with HOME and XDG dirs inside TMP plus VALUES."""
    base = {
        "HOME": str(tmp / "user"),
        "XDG_CONFIG_HOME": str(tmp / "xdg-config"),
        "XDG_DATA_HOME": str(tmp / "xdg-data"),
    }
    return {**base, **values}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------ home and defaults


def test_defaults_with_a_home(tmp: Path) -> None:
    config = load_config(home=tmp / "h", environ=env_of(tmp))
    assert config.home == tmp / "h"
    assert config.config_path == tmp / "h" / "config.toml"
    assert config.workflows_dir == tmp / "h" / "workflows"
    assert config.logs_dir == tmp / "h" / "logs"
    assert config.database_path == tmp / "h" / "wf.db"
    assert (config.log_level, config.on_failure_hook, config.default_executor) == (
        "warn",
        "",
        "sequential",
    )
    assert (config.max_parallel, config.kill_grace, config.log_max_bytes) == (4, 5.0, 67108864)
    assert config.warnings == []


@linux_only
def test_defaults_without_a_home_use_the_xdg_dirs(tmp: Path) -> None:
    config = load_config(environ=env_of(tmp))
    assert config.home is None
    assert config.config_path == tmp / "xdg-config" / "wf" / "config.toml"
    assert config.workflows_dir == tmp / "xdg-data" / "wf" / "workflows"
    assert config.logs_dir == tmp / "xdg-data" / "wf" / "logs"
    assert config.database_path == tmp / "xdg-data" / "wf" / "wf.db"


@linux_only
def test_xdg_defaults_fall_back_to_the_home_directory(
    tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp / "user"))
    config = load_config(environ={"HOME": str(tmp / "user")})
    assert config.config_path == tmp / "user" / ".config" / "wf" / "config.toml"
    assert config.database_path == tmp / "user" / ".local" / "share" / "wf" / "wf.db"


def test_wf_home_from_the_environment(tmp: Path) -> None:
    config = load_config(environ=env_of(tmp, WF_HOME=str(tmp / "envhome")))
    assert config.home == tmp / "envhome"
    assert config.database_path == tmp / "envhome" / "wf.db"


def test_home_argument_wins_over_wf_home(tmp: Path) -> None:
    config = load_config(home=tmp / "flag", environ=env_of(tmp, WF_HOME=str(tmp / "env")))
    assert config.home == tmp / "flag"
    assert config.config_path == tmp / "flag" / "config.toml"


def test_the_home_config_file_is_read(tmp: Path) -> None:
    write(tmp / "h" / "config.toml", "max_parallel = 9\n")
    assert load_config(home=tmp / "h", environ=env_of(tmp)).max_parallel == 9


def test_an_explicit_config_wins_over_the_home_config(tmp: Path) -> None:
    write(tmp / "h" / "config.toml", "max_parallel = 9\n")
    explicit = write(tmp / "other.toml", "max_parallel = 2\n")
    config = load_config(config_path=explicit, home=tmp / "h", environ=env_of(tmp))
    assert config.config_path == explicit
    assert config.max_parallel == 2
    # the home still provides the default paths
    assert config.workflows_dir == tmp / "h" / "workflows"


@linux_only
def test_the_platform_config_file_is_read_without_a_home(tmp: Path) -> None:
    write(tmp / "xdg-config" / "wf" / "config.toml", 'log_level = "error"\n')
    assert load_config(environ=env_of(tmp)).log_level == "error"


def test_a_missing_default_config_file_is_ignored(tmp: Path) -> None:
    config = load_config(home=tmp / "nothing-here", environ=env_of(tmp))
    assert config.config_exists is False


def test_a_missing_explicit_config_file_is_an_error(tmp: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(config_path=tmp / "absent.toml", environ=env_of(tmp))


def test_init_may_name_a_config_file_that_does_not_exist_yet(tmp: Path) -> None:
    config = load_config(config_path=tmp / "absent.toml", environ=env_of(tmp), must_exist=False)
    assert config.config_path == tmp / "absent.toml"


# ------------------------------------------------------------------------------ precedence

FILE_SETTINGS = """\
log_level = "info"
on_failure_hook = "echo from-file"
default_executor = "parallel"
max_parallel = 6
kill_grace = "2s"
log_max_bytes = 1000

[paths]
workflows = "/file/workflows"
logs = "/file/logs"
database = "/file/wf.db"
"""


def test_the_file_wins_over_the_defaults(tmp: Path) -> None:
    cfg = write(tmp / "c.toml", FILE_SETTINGS)
    config = load_config(config_path=cfg, environ=env_of(tmp))
    assert config.log_level == "info"
    assert config.on_failure_hook == "echo from-file"
    assert config.default_executor == "parallel"
    assert config.max_parallel == 6
    assert config.kill_grace == 2.0
    assert config.log_max_bytes == 1000
    assert config.workflows_dir == Path("/file/workflows")
    assert config.logs_dir == Path("/file/logs")
    assert config.database_path == Path("/file/wf.db")


def test_the_environment_wins_over_the_file(tmp: Path) -> None:
    cfg = write(tmp / "c.toml", FILE_SETTINGS)
    environ = env_of(
        tmp,
        WF_LOG_LEVEL="debug",
        WF_ON_FAILURE_HOOK="echo from-env",
        WF_DEFAULT_EXECUTOR="work_stealing",
        WF_MAX_PARALLEL="3",
        WF_KILL_GRACE="250ms",
        WF_LOG_MAX_BYTES="2048",
        WF_PATHS_WORKFLOWS="/env/workflows",
        WF_PATHS_LOGS="/env/logs",
        WF_PATHS_DATABASE="/env/wf.db",
    )
    config = load_config(config_path=cfg, environ=environ)
    assert config.log_level == "debug"
    assert config.on_failure_hook == "echo from-env"
    assert config.default_executor == "work_stealing"
    assert config.max_parallel == 3
    assert config.kill_grace == 0.25
    assert config.log_max_bytes == 2048
    assert config.workflows_dir == Path("/env/workflows")
    assert config.logs_dir == Path("/env/logs")
    assert config.database_path == Path("/env/wf.db")


def test_explicit_paths_win_over_the_home_defaults(tmp: Path) -> None:
    write(tmp / "h" / "config.toml", '[paths]\nlogs = "/file/logs"\n')
    environ = env_of(tmp, WF_PATHS_WORKFLOWS="/env/workflows")
    config = load_config(home=tmp / "h", environ=environ)
    assert config.workflows_dir == Path("/env/workflows")
    assert config.logs_dir == Path("/file/logs")
    assert config.database_path == tmp / "h" / "wf.db"


@pytest.mark.parametrize(
    "name",
    [
        "WF_HOME",
        "WF_LOG_LEVEL",
        "WF_MAX_PARALLEL",
        "WF_DEFAULT_EXECUTOR",
        "WF_PATHS_WORKFLOWS",
        "WF_KILL_GRACE",
    ],
)
def test_an_empty_environment_variable_counts_as_unset(tmp: Path, name: str) -> None:
    cfg = write(tmp / "c.toml", FILE_SETTINGS)
    with_empty = load_config(config_path=cfg, environ=env_of(tmp, **{name: ""}))
    without = load_config(config_path=cfg, environ=env_of(tmp))
    assert with_empty == without


def test_relative_paths_in_the_file_are_resolved_against_its_directory(
    tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = write(
        tmp / "conf" / "c.toml",
        '[paths]\nworkflows = "flows"\nlogs = "../logs"\ndatabase = "db/wf.db"\n',
    )
    monkeypatch.chdir(tmp)
    config = load_config(config_path=cfg, environ=env_of(tmp))
    assert config.workflows_dir == tmp / "conf" / "flows"
    assert config.logs_dir.resolve() == (tmp / "logs").resolve()
    assert config.database_path == tmp / "conf" / "db" / "wf.db"


def test_relative_paths_from_the_environment_are_resolved_against_the_cwd(
    tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp)
    environ = env_of(tmp, WF_PATHS_WORKFLOWS="flows", WF_HOME="myhome")
    config = load_config(environ=environ)
    assert config.workflows_dir == tmp / "flows"
    assert config.home == tmp / "myhome"
    assert config.database_path == tmp / "myhome" / "wf.db"


def test_relative_home_and_config_arguments_are_resolved_against_the_cwd(
    tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp)
    write(tmp / "c.toml", "")
    config = load_config(config_path="c.toml", home="h", environ=env_of(tmp))
    assert config.config_path == tmp / "c.toml"
    assert config.home == tmp / "h"


def test_tilde_is_expanded_everywhere(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp / "user"
    monkeypatch.setenv("HOME", str(user))
    cfg = write(tmp / "c.toml", '[paths]\nlogs = "~/wf-logs"\n')
    environ = env_of(tmp, WF_PATHS_DATABASE="~/data/wf.db")
    config = load_config(config_path=cfg, home="~/wfhome", environ=environ)
    assert config.logs_dir == user / "wf-logs"
    assert config.database_path == user / "data" / "wf.db"
    assert config.home == user / "wfhome"
    assert config.workflows_dir == user / "wfhome" / "workflows"


def test_the_spec_example_config(tmp: Path) -> None:
    cfg = write(
        tmp / "c.toml",
        """\
log_level        = "info"
on_failure_hook  = "notify-send 'wf run failed' \\"$WF_WORKFLOW $WF_RUN_ID\\""
default_executor = "work_stealing"
max_parallel     = 6

[paths]
workflows = "flows"          # relative to this file's directory
logs      = "~/wf-logs"
""",
    )
    config = load_config(config_path=cfg, environ=env_of(tmp))
    assert config.default_executor == "work_stealing"
    assert config.max_parallel == 6
    assert config.on_failure_hook == "notify-send 'wf run failed' \"$WF_WORKFLOW $WF_RUN_ID\""
    assert config.workflows_dir == tmp / "flows"
    assert config.logs_dir == Path(os.path.expanduser("~/wf-logs"))


# -------------------------------------------------------------------------- bad input


def test_unparsable_file_reports_line_and_column(tmp: Path) -> None:
    cfg = write(tmp / "c.toml", 'log_level = "info"\nmax_parallel = \n')
    with pytest.raises(ConfigError) as info:
        load_config(config_path=cfg, environ=env_of(tmp))
    assert "line 2, column" in str(info.value)
    assert str(cfg) in str(info.value)


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("log_levle", "log_level"),
        ("max_paralel", "max_parallel"),
        ("default_exec", "default_executor"),
    ],
)
def test_unknown_top_level_keys_warn_with_a_suggestion(
    tmp: Path, key: str, suggestion: str
) -> None:
    cfg = write(tmp / "c.toml", f"{key} = 1\n")
    config = load_config(config_path=cfg, environ=env_of(tmp))
    assert config.warnings == [f'config: unknown key "{key}" (did you mean "{suggestion}"?)']


def test_unknown_path_keys_warn_too(tmp: Path) -> None:
    cfg = write(tmp / "c.toml", '[paths]\nworkflow = "x"\n')
    (warning,) = load_config(config_path=cfg, environ=env_of(tmp)).warnings
    assert "paths.workflow" in warning
    assert 'did you mean "workflows"' in warning


def test_an_unrelated_unknown_key_has_no_suggestion(tmp: Path) -> None:
    cfg = write(tmp / "c.toml", "zzz = 1\n")
    assert load_config(config_path=cfg, environ=env_of(tmp)).warnings == [
        'config: unknown key "zzz"'
    ]


@pytest.mark.parametrize(
    "text",
    [
        "max_parallel = 0\n",
        'max_parallel = "many"\n',
        "max_parallel = true\n",
        'default_executor = "dask"\n',
        'log_level = "loud"\n',
        'kill_grace = "soon"\n',
        "log_max_bytes = -5\n",
        "on_failure_hook = 3\n",
        'paths = "nope"\n',
        "[paths]\nlogs = 3\n",
    ],
)
def test_invalid_values_in_the_file_are_errors(tmp: Path, text: str) -> None:
    cfg = write(tmp / "c.toml", text)
    with pytest.raises(ConfigError):
        load_config(config_path=cfg, environ=env_of(tmp))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WF_MAX_PARALLEL", "0"),
        ("WF_MAX_PARALLEL", "four"),
        ("WF_DEFAULT_EXECUTOR", "fast"),
        ("WF_LOG_LEVEL", "loud"),
        ("WF_KILL_GRACE", "-1s"),
        ("WF_LOG_MAX_BYTES", "lots"),
    ],
)
def test_invalid_values_in_the_environment_are_errors_naming_the_variable(
    tmp: Path, name: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=name):
        load_config(environ=env_of(tmp, **{name: value}))


def test_config_error_is_a_wf_error() -> None:
    from wf.errors import WfError

    assert issubclass(ConfigError, WfError)


def test_config_has_the_documented_fields(tmp: Path) -> None:
    config = load_config(home=tmp, environ=env_of(tmp))
    assert isinstance(config, Config)
    for name in (
        "config_path",
        "home",
        "workflows_dir",
        "logs_dir",
        "database_path",
        "log_level",
        "on_failure_hook",
        "default_executor",
        "max_parallel",
        "kill_grace",
        "log_max_bytes",
    ):
        assert hasattr(config, name)


def test_load_config_reads_the_process_environment_by_default(
    tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WF_HOME", str(tmp / "from-os"))
    monkeypatch.setenv("WF_MAX_PARALLEL", "11")
    config = load_config()
    assert config.home == tmp / "from-os"
    assert config.max_parallel == 11


# ----------------------------------------------------------------------- command line

DIAMOND = """\
[tasks.a]
cmd = "true"
[tasks.b]
cmd = "true"
depends_on = ["a"]
[tasks.c]
cmd = "true"
depends_on = ["a"]
retry_delay = "1s"
"""


def plan_mode(wf: Wf, *args: str) -> str:
    code, out, err = wf(*args)
    assert code == 0, err
    return next(line for line in out.splitlines() if line.startswith("Mode: "))


@pytest.fixture
def home_with_workflow(wf_home: Path) -> Path:
    write(wf_home / "workflows" / "diamond.toml", DIAMOND)
    return wf_home


@pytest.mark.usefixtures("home_with_workflow")
class TestCommandLine:
    def test_flags_win_over_env_over_file_over_defaults_for_the_executor(
        self, wf: Wf, wf_home: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        dry = ("run", "diamond", "--dry-run")
        assert plan_mode(wf, *dry) == "Mode: sequential (max_parallel 1)"
        write(wf_home / "config.toml", 'default_executor = "parallel"\nmax_parallel = 6\n')
        assert plan_mode(wf, *dry) == "Mode: parallel (max_parallel 6)"
        monkeypatch.setenv("WF_DEFAULT_EXECUTOR", "work_stealing")
        monkeypatch.setenv("WF_MAX_PARALLEL", "5")
        assert plan_mode(wf, *dry) == "Mode: work_stealing (max_parallel 5)"
        assert plan_mode(wf, *dry, "--parallel", "--max-parallel", "2") == (
            "Mode: parallel (max_parallel 2)"
        )

    def test_log_level_flag_wins_over_env_over_file(
        self, wf: Wf, wf_home: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        dry = ("run", "diamond", "--dry-run")
        assert "warning: " in wf(*dry)[2]  # default level warn shows workflow warnings
        write(wf_home / "config.toml", 'log_level = "error"\n')
        assert wf(*dry)[2] == ""
        monkeypatch.setenv("WF_LOG_LEVEL", "warn")
        assert "warning: " in wf(*dry)[2]
        assert wf("--log-level", "error", *dry)[2] == ""
        monkeypatch.setenv("WF_LOG_LEVEL", "error")
        assert "warning: " in wf("-v", *dry)[2]

    def test_paths_from_the_environment_win_over_the_home(
        self, wf: Wf, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        elsewhere = tmp_path / "elsewhere"
        write(elsewhere / "only-here.toml", '[tasks.x]\ncmd = "true"\n')
        monkeypatch.setenv("WF_PATHS_WORKFLOWS", str(elsewhere))
        code, out, _ = wf("list")
        assert code == 0
        assert "only-here" in out
        assert "diamond" not in out

    def test_relative_paths_in_the_config_file_follow_the_file(
        self, wf: Wf, tmp_path: Path, workdir: Path
    ) -> None:
        conf_dir = tmp_path / "conf"
        write(conf_dir / "wf.toml", '[paths]\nworkflows = "flows"\ndatabase = "state/wf.db"\n')
        write(conf_dir / "flows" / "relflow.toml", '[tasks.x]\ncmd = "true"\n')
        code, out, _ = wf("--config", str(conf_dir / "wf.toml"), "list")
        assert code == 0
        assert "relflow" in out
        code, out, _ = wf("--config", str(conf_dir / "wf.toml"), "run", "relflow")
        assert code == 0
        assert (conf_dir / "state" / "wf.db").is_file()
        assert not (workdir / "state").exists()

    def test_home_flag_wins_over_wf_home(self, wf: Wf, tmp_path: Path) -> None:
        other = tmp_path / "other"
        write(other / "workflows" / "mine.toml", '[tasks.x]\ncmd = "true"\n')
        code, out, _ = wf("--home", str(other), "list")
        assert code == 0
        assert "mine" in out
        assert "diamond" not in out

    def test_home_flag_moves_the_config_file(self, wf: Wf, tmp_path: Path) -> None:
        other = tmp_path / "other"
        write(other / "config.toml", "max_parallel = 7\n")
        write(other / "workflows" / "diamond.toml", DIAMOND)
        assert plan_mode(wf, "--home", str(other), "run", "diamond", "--dry-run", "--parallel") == (
            "Mode: parallel (max_parallel 7)"
        )

    def test_empty_wf_home_counts_as_unset(
        self, wf: Wf, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.setenv("WF_HOME", "")
        code, out, _ = wf("list")
        assert code == 0
        if sys.platform.startswith("linux"):
            assert f"No workflows found in {tmp_path / 'xdg-data' / 'wf' / 'workflows'}" in out

    def test_missing_config_file_is_a_usage_error(self, wf: Wf) -> None:
        code, out, err = wf("--config", "nope.toml", "list")
        assert code == 2
        assert "Error: config file not found:" in err
        assert "nope.toml" in err
        assert out == ""

    def test_missing_config_file_is_created_by_init(self, wf: Wf, workdir: Path) -> None:
        code, _, _ = wf("--config", "nope.toml", "init")
        assert code == 0
        assert (workdir / "nope.toml").is_file()
        assert wf("--config", "nope.toml", "list")[0] == 0

    def test_unparsable_config_is_a_usage_error_with_line_and_column(
        self, wf: Wf, wf_home: Path
    ) -> None:
        write(wf_home / "config.toml", "[paths\n")
        code, _, err = wf("list")
        assert code == 2
        assert err.startswith("Error: invalid config file")
        assert "line 1, column" in err
        assert "Traceback" not in err

    def test_invalid_setting_is_a_usage_error(self, wf: Wf, wf_home: Path) -> None:
        write(wf_home / "config.toml", "max_parallel = 0\n")
        code, _, err = wf("run", "diamond", "--dry-run")
        assert code == 2
        assert "max_parallel" in err

    def test_invalid_environment_setting_is_a_usage_error(
        self, wf: Wf, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("WF_DEFAULT_EXECUTOR", "fastest")
        code, _, err = wf("run", "diamond", "--dry-run")
        assert code == 2
        assert "WF_DEFAULT_EXECUTOR" in err

    def test_unknown_config_keys_warn_on_stderr_with_did_you_mean(
        self, wf: Wf, wf_home: Path
    ) -> None:
        write(wf_home / "config.toml", 'log_levle = "info"\n[paths]\nlog = "x"\n')
        code, out, err = wf("list")
        assert code == 0
        assert 'warning: config: unknown key "log_levle" (did you mean "log_level"?)' in err
        assert 'warning: config: unknown key "paths.log" (did you mean "logs"?)' in err
        assert "warning" not in out

    def test_runs_use_the_configured_logs_and_database(
        self, wf: Wf, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("WF_PATHS_LOGS", str(tmp_path / "L"))
        monkeypatch.setenv("WF_PATHS_DATABASE", str(tmp_path / "D" / "runs.db"))
        (tmp_path / "loud.toml").write_text('[tasks.say]\ncmd = "echo hi"\n')
        code, out, err = wf("run", "diamond", "--json")
        assert code == 0, err
        run_id = json.loads(out)["run"]["id"]
        assert (tmp_path / "D" / "runs.db").is_file()
        # 'a' prints nothing: its log path is recorded under L, the file is created only on a
        # first output byte (docs/executors.md, "How a task runs")
        assert (tmp_path / "L" / run_id / "a").is_dir()
        code, out, err = wf("inspect", run_id, "--json")
        assert code == 0, err
        paths = {t["task_id"]: t["log_path"] for t in json.loads(out)["tasks"]}
        assert paths["a"] == str(tmp_path / "L" / run_id / "a" / "attempt_1.log")
        code, out, err = wf("run", str(tmp_path / "loud.toml"), "--json")
        assert code == 0, err
        run_id = json.loads(out)["run"]["id"]
        assert (tmp_path / "L" / run_id / "say" / "attempt_1.log").read_text() == "hi\n"
