"""wf: a local-first DAG workflow runner."""

from wf._version import __version__
from wf.errors import ResumeError, SecurityError, UsageError, WfError

__all__ = ["ResumeError", "SecurityError", "UsageError", "WfError", "__version__"]
