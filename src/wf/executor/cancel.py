"""Cancellation: the caller's ``CancelToken``, and the run's two scopes inside the engine (the
run's own: signals, API, deadline; and fail-fast's)."""

from __future__ import annotations

import threading


class CancelScope:
    """A one-shot cancellation with a reason; ``hard`` means kill without grace."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._reason = ""
        self._hard = False

    def cancel(self, reason: str, *, hard: bool = False) -> bool:
        """Cancel with REASON; the first reason wins. Returns True for the first call."""
        with self._lock:
            first = not self._event.is_set()
            if first:
                self._reason = reason
            if hard:
                self._hard = True
            self._event.set()
            return first

    def is_set(self) -> bool:
        """Whether the scope has been cancelled."""
        return self._event.is_set()

    def wait(self, timeout: float | None) -> bool:
        """Wait up to TIMEOUT seconds for cancellation; True when cancelled."""
        return self._event.wait(timeout)

    @property
    def reason(self) -> str:
        """Why it was cancelled (empty when it was not)."""
        return self._reason

    @property
    def hard(self) -> bool:
        """Whether in-flight processes are to be killed at once."""
        return self._hard


class AttemptCancel:
    """What one attempt watches: the run scope, and (unless it is a trap) fail-fast.

    The run's own cancellation takes precedence over fail-fast for the reason text.
    """

    def __init__(self, run: CancelScope, failfast: CancelScope | None) -> None:
        self._run = run
        self._failfast = failfast

    def is_set(self) -> bool:
        return self._run.is_set() or (self._failfast is not None and self._failfast.is_set())

    def wait(self, timeout: float | None) -> bool:
        """Sleep up to TIMEOUT, waking early on cancellation (used for retry delays)."""
        if timeout is not None:
            timeout = min(timeout, threading.TIMEOUT_MAX)  # a longer wait would overflow
        if self._failfast is None:
            return self._run.wait(timeout)
        step = 0.05
        remaining = timeout if timeout is not None else float("inf")
        while remaining > 0:
            if self.is_set():
                return True
            self._run.wait(min(step, remaining))
            remaining -= step
        return self.is_set()

    @property
    def reason(self) -> str:
        if self._run.is_set():
            return self._run.reason
        return self._failfast.reason if self._failfast is not None else ""

    @property
    def hard(self) -> bool:
        return self._run.hard


class CancelToken(threading.Event):
    """What a caller hands ``execute``/``resume`` as ``cancel`` to cancel the run (docs/api.md).

    ``cancel(reason)`` cancels it (the run ends ``cancelled: REASON``, or ``cancelled``
    without one); ``kill_now()`` also kills the running attempts at once, without their grace
    period (as a second Ctrl+C does). A plain ``threading.Event`` works too: setting it is
    ``cancel()`` without a reason.
    """

    def __init__(self) -> None:
        super().__init__()
        self._reason = ""
        self._hard = False

    def cancel(self, reason: str = "", *, hard: bool = False) -> None:
        """Cancel the run; the first reason given is kept."""
        if reason and not self._reason:
            self._reason = reason
        if hard:
            self._hard = True
        self.set()

    def kill_now(self) -> None:
        """Kill the running attempts without waiting for their grace period."""
        self.cancel(hard=True)

    @property
    def reason(self) -> str:
        """Why the run was cancelled ("" when no reason was given)."""
        return self._reason

    @property
    def hard(self) -> bool:
        """Whether running attempts are to be killed at once."""
        return self._hard
