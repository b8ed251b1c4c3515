"""The wf exception hierarchy: every error wf raises derives from WfError."""

from __future__ import annotations


class WfError(Exception):
    """Base class of every wf error."""


class UsageError(WfError):
    """Bad command-line input (exit code 2)."""

    #: The subcommand that got the input, for the "Run 'wf COMMAND --help'" hint (set by the CLI).
    command: str = ""


class SecurityError(WfError, ValueError):
    """An input broke a security rule; the message names the input and the rule.

    See docs/workflow-files.md#validation.
    """


class ResumeError(WfError):
    """A run cannot be resumed, or the resume selection is invalid."""


class RunnerUnavailableError(WfError):
    """The attempt runner cannot be reached (e.g. no Dask scheduler at the address); no run
    row exists yet."""


class MissingExtraError(WfError):
    """A feature needs an optional extra that is not installed."""

    def __init__(self, what: str, extra: str) -> None:
        super().__init__(
            f"{what} requires the optional '{extra}' extra (pip install 'wf[{extra}]')"
        )
        self.extra = extra
