"""Security validators: workflow names, env keys, working dirs, variable names.

See docs/reliability.md.
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path

from wf.errors import SecurityError

__all__ = [
    "INJECTED_ENV_NAMES",
    "SecurityError",
    "resolve_workflow_path",
    "validate_env_key",
    "validate_variable_name",
    "validate_workflow_name",
    "validate_working_dir",
]

WORKFLOW_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,127}")
ENV_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
VARIABLE_NAME_RE = re.compile(r"[A-Za-z0-9_.\-\[\]=,]{1,256}")

INJECTED_ENV_NAMES = frozenset(
    {"WF_RUN_ID", "WF_WORKFLOW", "WF_TASK_ID", "WF_ATTEMPT", "WF_OUTPUT"}
)
_DENIED_ENV_KEYS = frozenset({"BASH_ENV"}) | INJECTED_ENV_NAMES
_DENIED_ENV_PREFIXES = ("LD_", "DYLD_")
_FORBIDDEN_DIR_ROOTS = ("/proc", "/sys", "/dev")


def _show(value: str) -> str:
    """Render an input for an error message without control characters."""
    return repr(value)


def validate_workflow_name(name: str) -> str:
    """Return NAME if it is a valid workflow name, else raise SecurityError.

    See docs/workflow-files.md#loading-a-workflow.
    """
    if not isinstance(name, str) or "\x00" in name or not WORKFLOW_NAME_RE.fullmatch(name):
        raise SecurityError(
            f"invalid workflow name {_show(name)}: must match ^[A-Za-z0-9_][A-Za-z0-9_-]{{0,127}}$"
        )
    return name


def resolve_workflow_path(name: str, workflows_dir: str | os.PathLike[str]) -> Path:
    """Validate NAME and return <workflows_dir>/NAME.toml, refusing paths that leave the dir.

    Both checks happen before any file is opened; a trailing ``.toml`` is stripped first.
    """
    if isinstance(name, str) and name.endswith(".toml"):
        name = name[: -len(".toml")]
    validate_workflow_name(name)
    base = Path(workflows_dir)
    candidate = base / f"{name}.toml"
    real_base = os.path.realpath(base)
    real_candidate = os.path.realpath(candidate)
    if os.path.commonpath([real_base, real_candidate]) != real_base:
        raise SecurityError(
            f"workflow {_show(name)} resolves outside the workflows directory {real_base}"
        )
    return candidate


def validate_env_key(key: str) -> str:
    """Return KEY if it is an allowed task env key, else raise SecurityError.

    See docs/workflow-files.md#task-level-keys.
    """
    if not isinstance(key, str) or "\x00" in key or not ENV_KEY_RE.fullmatch(key):
        raise SecurityError(f"invalid env key {_show(key)}: must match ^[A-Za-z_][A-Za-z0-9_]*$")
    upper = key.upper()
    if upper.startswith(_DENIED_ENV_PREFIXES) or upper in _DENIED_ENV_KEYS:
        raise SecurityError(f"env key {_show(key)} is not allowed (reserved or dangerous)")
    return key


def _is_forbidden_dir(path: str) -> bool:
    # normpath keeps a leading "//" (POSIX leaves its meaning open); Linux and macOS treat
    # it as "/", so collapse it or "//proc" would slip past the lexical check.
    norm = "/" + posixpath.normpath(path).lstrip("/")
    return any(norm == root or norm.startswith(root + "/") for root in _FORBIDDEN_DIR_ROOTS)


def validate_working_dir(path: str, *, check_real: bool = False) -> str:
    """Return PATH if it is an allowed working directory, else raise SecurityError.

    The rule is in docs/workflow-files.md#task-level-keys.

    With ``check_real`` the real path (symlinks resolved) is checked as well.
    """
    if "\x00" in path:
        raise SecurityError(f"working directory {_show(path)} contains a NUL byte")
    if os.name == "posix":
        lexical_bad = path.startswith("/") and _is_forbidden_dir(path)
        real_bad = check_real and bool(path) and _is_forbidden_dir(os.path.realpath(path))
        if lexical_bad or real_bad:
            msg = f"working directory not allowed: {path} (under /proc, /sys or /dev)"
            raise SecurityError(msg)
    return path


def validate_variable_name(name: str) -> str:
    """Return NAME if it is a valid variable name, else raise SecurityError.

    See docs/variables.md#names-and-ownership.
    """
    if not isinstance(name, str) or not VARIABLE_NAME_RE.fullmatch(name):
        raise SecurityError(
            f"invalid variable name {_show(name)}: must match ^[A-Za-z0-9_.\\-\\[\\]=,]{{1,256}}$"
        )
    return name
