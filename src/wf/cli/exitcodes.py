"""Exit codes and the one mapping from wf errors to messages and exit codes.

See docs/cli.md#global-options.
"""

from __future__ import annotations

from enum import IntEnum

from wf.errors import ResumeError, SecurityError, UsageError, WfError


class ExitCode(IntEnum):
    """Process exit codes of the wf command."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    INTERRUPTED = 130


def classify(exc: BaseException) -> tuple[ExitCode, list[str]]:
    """Map an exception to its exit code and the stderr lines that report it."""
    from wf.config import ConfigError
    from wf.dag.model import WorkflowError, WorkflowNotFoundError
    from wf.secrets import SecretError

    if isinstance(exc, WorkflowNotFoundError):
        # A missing file is a command error (exit 1), not an invalid definition
        # (docs/cli.md#global-options).
        return ExitCode.FAILURE, [f"Error: {e}" for e in exc.errors or [str(exc)]]
    if isinstance(exc, WorkflowError):
        if exc.errors:
            name = exc.workflow_name or "workflow"
            count = len(exc.errors)
            lines = [
                f"Error: workflow '{name}' is invalid ({count} error{'' if count == 1 else 's'})"
            ]
            lines.extend(f"  - {e}" for e in exc.errors)
            return ExitCode.USAGE, lines
        return ExitCode.USAGE, [f"Error: {exc}"]
    if isinstance(exc, UsageError):
        hint = f"wf {exc.command} --help" if exc.command else "wf --help"
        return ExitCode.USAGE, [f"Error: {exc}", f"Run '{hint}' for usage."]
    if isinstance(exc, SecurityError | ConfigError | SecretError):
        return ExitCode.USAGE, [f"Error: {exc}"]
    if isinstance(exc, ResumeError):
        return ExitCode.FAILURE, [f"Error: {exc}"]
    if isinstance(exc, WfError):
        return ExitCode.FAILURE, [f"Error: {exc}"]
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.INTERRUPTED, ["Error: interrupted"]
    if isinstance(exc, OSError):
        return ExitCode.FAILURE, [f"Error: {exc.strerror or exc}" + _filename(exc)]
    return ExitCode.FAILURE, [f"Error: internal error: {type(exc).__name__}: {exc}"]


def _filename(exc: OSError) -> str:
    return f": {exc.filename}" if exc.filename else ""
