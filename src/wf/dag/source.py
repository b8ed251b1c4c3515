"""Finding and reading a workflow file by name or by path.

See docs/workflow-files.md#loading-a-workflow.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

from wf.dag.model import WorkflowError, WorkflowNotFoundError
from wf.dag.report import quote
from wf.errors import SecurityError
from wf.security import resolve_workflow_path

__all__ = ["is_path_argument", "locate_workflow", "read_workflow_text"]


def _has_separator(source: str) -> bool:
    separators = ("/", "\\") if os.name == "nt" else ("/",)
    return any(sep in source for sep in separators)


def is_path_argument(source: str) -> bool:
    """True when SOURCE names an existing regular file and looks like a path (rule 2)."""
    looks_like_path = _has_separator(source) or source.endswith(".toml")
    return looks_like_path and "\x00" not in source and os.path.isfile(source)


def locate_workflow(
    source: str | os.PathLike[str], workflows_dir: str | os.PathLike[str] | None
) -> Path:
    """The file SOURCE refers to; a name is validated before anything is opened (rule 1)."""
    if not isinstance(source, str):
        return Path(source)
    if is_path_argument(source):
        return Path(source)
    if source.endswith(".toml") and _has_separator(source) and "\x00" not in source:
        # Clearly a path to a file (not a name) that is not one: say so, not a name rule.
        if os.path.isdir(source):
            return Path(source)  # reading it reports "workflow file is a directory"
        raise WorkflowNotFoundError(errors=[f"workflow file not found: {source}"])
    if workflows_dir is None:
        # Imported here: reading the configuration is only needed to resolve a name.
        from wf.config import load_config

        workflows_dir = load_config().workflows_dir
    try:
        return resolve_workflow_path(source, workflows_dir)
    except SecurityError as exc:
        message = str(exc)
        if source.endswith(".toml") or "/" in source:
            message += f" (and no file {source} exists)"
        raise WorkflowError(errors=[message]) from None


def read_workflow_text(source: str | os.PathLike[str], path: Path) -> str:
    """The UTF-8 text of PATH (rule 3).

    A missing file raises WorkflowNotFoundError; an unreadable one, WorkflowError.
    """
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        if path.is_dir():
            _fail(f"workflow file is a directory: {path}")
        message = f"workflow not found: {os.fspath(source)} (looked for {path})"
        raise WorkflowNotFoundError(errors=[message + _local_file_hint(source)]) from None
    except OSError as exc:
        _fail(f"cannot read workflow file {path}: {exc.strerror or exc}")
    except ValueError as exc:  # e.g. a NUL byte in a Path given by the caller
        _fail(f"cannot read workflow file {quote(str(path))}: {exc}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        _fail(f"cannot read workflow file {path}: not UTF-8 ({exc.reason} at byte {exc.start})")


def _local_file_hint(source: str | os.PathLike[str]) -> str:
    """'; did you mean ./NAME.toml?' when a name was given and such a file is right here."""
    if not isinstance(source, str) or _has_separator(source) or "\x00" in source:
        return ""
    for candidate in (source, f"{source}.toml"):
        if candidate.endswith(".toml") and os.path.isfile(candidate):
            return f"; did you mean ./{candidate}?"
    return ""


def _fail(message: str) -> NoReturn:
    raise WorkflowError(errors=[message])
