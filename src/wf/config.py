"""Configuration and paths (docs/configuration.md): flags > environment > config file > defaults."""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wf.errors import WfError

__all__ = ["CONFIG_KEYS", "Config", "ConfigError", "default_config_text", "load_config"]

EXECUTION_MODES = ("sequential", "parallel", "work_stealing")
EXECUTORS = ("local", "dask")
LOG_LEVELS = ("debug", "info", "warn", "error")
DEFAULT_KILL_GRACE = 5.0
DEFAULT_LOG_MAX_BYTES = 67_108_864
DEFAULT_MAX_PARALLEL = 4

# key -> (environment variable, default) for the top-level settings.
CONFIG_KEYS: dict[str, tuple[str, Any]] = {
    "log_level": ("WF_LOG_LEVEL", "warn"),
    "on_failure_hook": ("WF_ON_FAILURE_HOOK", ""),
    "default_executor": ("WF_DEFAULT_EXECUTOR", "sequential"),
    "max_parallel": ("WF_MAX_PARALLEL", DEFAULT_MAX_PARALLEL),
    "kill_grace": ("WF_KILL_GRACE", "5s"),
    "log_max_bytes": ("WF_LOG_MAX_BYTES", DEFAULT_LOG_MAX_BYTES),
    "executor": ("WF_EXECUTOR", "local"),
    "dask_scheduler": ("WF_DASK_SCHEDULER", ""),
}
PATH_KEYS: dict[str, str] = {
    "workflows": "WF_PATHS_WORKFLOWS",
    "logs": "WF_PATHS_LOGS",
    "database": "WF_PATHS_DATABASE",
}


class ConfigError(WfError):
    """An invalid configuration file or setting (exit code 2)."""


@dataclass
class Config:
    """Effective settings after applying flags, environment, file and defaults."""

    config_path: Path
    home: Path | None
    workflows_dir: Path
    logs_dir: Path
    database_path: Path
    log_level: str = "warn"
    on_failure_hook: str = ""
    default_executor: str = "sequential"
    max_parallel: int = DEFAULT_MAX_PARALLEL
    kill_grace: float = DEFAULT_KILL_GRACE
    log_max_bytes: int = DEFAULT_LOG_MAX_BYTES
    #: Default resource pools (name -> capacity) that a workflow's ``[pools]`` may override.
    pools: dict[str, int] = field(default_factory=dict)
    #: Where attempts run: ``local`` or ``dask`` (docs/dask.md).
    executor: str = "local"
    #: The Dask scheduler address used with ``executor = "dask"``.
    dask_scheduler: str = ""
    config_exists: bool = False
    warnings: list[str] = field(default_factory=list)


def _user_config_dir(environ: Mapping[str, str]) -> Path:
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support"
    if os.name == "nt":
        return Path(environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    return Path(environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def _user_data_dir(environ: Mapping[str, str]) -> Path:
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support"
    if os.name == "nt":
        return Path(environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    return Path(environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def _resolve(value: str, base: Path) -> Path:
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else (base / path)


def _suggest(key: str, valid: list[str]) -> str:
    import difflib

    best = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    return f' (did you mean "{best[0]}"?)' if best else ""


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid config file {path}: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc


def _check_keys(data: dict[str, Any], warnings: list[str]) -> None:
    top = [*CONFIG_KEYS, "paths", "pools"]
    for key in data:
        if key in PATH_KEYS:
            # A path key outside [paths], e.g. appended after the tables of the file.
            warnings.append(f'config: unknown key "{key}" (did you mean "paths.{key}"?)')
        elif key not in top:
            warnings.append(f'config: unknown key "{key}"{_suggest(key, top)}')
    paths = data.get("paths", {})
    if not isinstance(paths, dict):
        raise ConfigError('config: key "paths" must be a table')
    for key in paths:
        if key in CONFIG_KEYS:
            warnings.append(
                f'config: unknown key "paths.{key}" (did you mean the top-level '
                f'"{key}"? put it above the [paths] table, or write it without "paths.")'
            )
        elif key not in PATH_KEYS:
            warnings.append(f'config: unknown key "paths.{key}"{_suggest(key, list(PATH_KEYS))}')


def _parse_setting(key: str, raw: Any, source: str) -> Any:
    """Convert one raw setting (str from env, typed from TOML) and validate it."""
    from wf.durations import parse_duration

    try:
        if key == "log_level":
            value = str(raw).lower()
            if value == "warning":
                value = "warn"
            if value not in LOG_LEVELS:
                raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
            return value
        if key == "executor":
            value = str(raw).lower()
            if value not in EXECUTORS:
                raise ValueError(f"must be one of {', '.join(EXECUTORS)}")
            return value
        if key == "default_executor":
            value = str(raw).replace("-", "_")
            if value not in EXECUTION_MODES:
                raise ValueError(f"must be one of {', '.join(EXECUTION_MODES)}")
            return value
        if key in ("max_parallel", "log_max_bytes"):
            if isinstance(raw, bool):
                raise ValueError("must be an integer")
            number = int(raw)
            if number < 1:
                raise ValueError("must be >= 1")
            if number > 2**63 - 1:  # max_parallel is stored as an SQLite INTEGER
                raise ValueError(f"must be at most {2**63 - 1}")
            return number
        if key == "kill_grace":
            return parse_duration(raw)
        if not isinstance(raw, str):
            raise ValueError("must be a string")
        return raw
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"invalid {key} from {source}: {raw!r} ({exc})") from exc


def load_config(
    *,
    config_path: str | os.PathLike[str] | None = None,
    home: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    must_exist: bool = True,
) -> Config:
    """Resolve the effective configuration (docs/configuration.md).

    ``must_exist=False`` lets ``wf init`` name a config file it is about to create.
    """
    env = os.environ if environ is None else environ
    cwd = Path.cwd()

    def env_value(name: str) -> str | None:
        value = env.get(name)
        return value if value else None

    home_path: Path | None = None
    if home is not None and str(home):
        home_path = _resolve(str(home), cwd)
    elif env_value("WF_HOME"):
        home_path = _resolve(env_value("WF_HOME") or "", cwd)

    explicit = config_path is not None and str(config_path) != ""
    if explicit:
        cfg_path = _resolve(str(config_path), cwd)
    elif home_path is not None:
        cfg_path = home_path / "config.toml"
    else:
        cfg_path = _user_config_dir(env) / "wf" / "config.toml"

    data: dict[str, Any] = {}
    warnings: list[str] = []
    exists = cfg_path.is_file()
    if exists:
        data = _read_file(cfg_path)
        _check_keys(data, warnings)
    elif explicit and must_exist:
        raise ConfigError(f"config file not found: {cfg_path}")

    base_dir = home_path if home_path is not None else _user_data_dir(env) / "wf"
    defaults = {
        "workflows": base_dir / "workflows",
        "logs": base_dir / "logs",
        "database": base_dir / "wf.db",
    }
    file_paths = data.get("paths", {}) if isinstance(data.get("paths", {}), dict) else {}
    resolved: dict[str, Path] = {}
    for key, env_name in PATH_KEYS.items():
        from_env = env_value(env_name)
        if from_env:
            resolved[key] = _resolve(from_env, cwd)
        elif key in file_paths:
            raw = file_paths[key]
            if not isinstance(raw, str) or not raw:
                raise ConfigError(f'config: key "paths.{key}" must be a non-empty string')
            resolved[key] = _resolve(raw, cfg_path.parent)
        else:
            resolved[key] = defaults[key]
        try:
            str(resolved[key]).encode("utf-8")
        except UnicodeEncodeError:
            # Undecodable bytes (e.g. from the environment) cannot be recorded in the database.
            raise ConfigError(f"{key} path is not valid UTF-8: {str(resolved[key])!r}") from None

    settings: dict[str, Any] = {}
    for key, (env_name, default) in CONFIG_KEYS.items():
        from_env = env_value(env_name)
        if from_env is not None:
            settings[key] = _parse_setting(key, from_env, env_name)
        elif key in data:
            settings[key] = _parse_setting(key, data[key], str(cfg_path))
        else:
            settings[key] = _parse_setting(key, default, "defaults")

    pools: dict[str, int] = {}
    if "pools" in data:
        from wf.dag.pools import parse_capacities

        pools, problems = parse_capacities(data["pools"], "config: ")
        if problems:
            raise ConfigError(problems[0])

    return Config(
        config_path=cfg_path,
        pools=pools,
        home=home_path,
        workflows_dir=resolved["workflows"],
        logs_dir=resolved["logs"],
        database_path=resolved["database"],
        config_exists=exists,
        warnings=warnings,
        **settings,
    )


def default_config_text() -> str:
    """The commented config file ``wf init`` writes: every key with its default."""
    return """\
# wf configuration. Every key is optional; the values shown are the defaults.
# Precedence: command-line flags > environment (WF_*) > this file > defaults.

# Diagnostics level: debug, info, warn or error (WF_LOG_LEVEL).
# log_level = "warn"

# Shell command run after a run fails (WF_ON_FAILURE_HOOK).
# on_failure_hook = ""

# Executor when no flag is given: sequential, parallel or work_stealing (WF_DEFAULT_EXECUTOR).
# default_executor = "sequential"

# Concurrency of the parallel and work-stealing executors (WF_MAX_PARALLEL).
# max_parallel = 4

# Wait between SIGTERM and SIGKILL when a task times out or is cancelled (WF_KILL_GRACE).
# kill_grace = "5s"

# Per-attempt log cap in bytes (WF_LOG_MAX_BYTES).
# log_max_bytes = 67108864

# Where attempts run: local or dask (WF_EXECUTOR); dask needs the wf[dask] extra.
# executor = "local"

# The Dask scheduler address for executor = "dask", e.g. "tcp://10.0.0.5:8786"
# (WF_DASK_SCHEDULER).
# dask_scheduler = ""

# Where wf keeps its files. Relative paths are resolved against this file's directory.
# These are dotted keys of the [paths] table, so that the file opens no table and a line
# appended at its end is still a top-level setting.
# paths.workflows = "workflows"   # WF_PATHS_WORKFLOWS
# paths.logs      = "logs"        # WF_PATHS_LOGS
# paths.database  = "wf.db"       # WF_PATHS_DATABASE

# Default resource pools, pool = capacity; a workflow's [pools] table overrides them.
# pools.gpu = 1
"""
