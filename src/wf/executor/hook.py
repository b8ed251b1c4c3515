"""The ``on_failure_hook``: a shell command run after a run fails.

See docs/executors.md#on_failure_hook.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from wf.executor.procgroup import spawn_shell, terminate_group
from wf.storage import Run

HOOK_TIMEOUT = 60.0


def run_failure_hook(
    command: str,
    run: Run,
    *,
    kill_grace: float = 5.0,
    warn: Callable[[str], None] | None = None,
) -> None:
    """Run COMMAND synchronously with the hook environment; its output goes to our stderr.

    Problems are reported through WARN and never raised.
    """
    env = dict(os.environ)
    env.update(
        {
            "WF_RUN_ID": run.id,
            "WF_WORKFLOW": run.workflow_name,
            "WF_STATUS": "failed",
            "WF_FAILED_TASK": run.failed_task or "",
            "WF_ERROR": run.error or "",
        }
    )
    own_fd = False
    try:
        sys.stderr.flush()
        err_fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        err_fd = os.open(os.devnull, os.O_WRONLY)
        own_fd = True
    try:
        proc = spawn_shell(command, env, None, err_fd, err_fd)
    except OSError as exc:
        if warn is not None:
            warn(f"on_failure_hook could not start: {exc.strerror or exc}")
        return
    finally:
        if own_fd:
            os.close(err_fd)  # the child has its own copy
    import time

    deadline = time.monotonic() + HOOK_TIMEOUT
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    if proc.returncode is None:
        terminate_group(proc.pid, kill_grace, leader=proc)
        if warn is not None:
            warn("on_failure_hook timed out after 1m")
        return
    if proc.returncode != 0 and warn is not None:
        warn(f"on_failure_hook exited with status {proc.returncode}")
