"""The local attempt runner: attempts as process groups on this machine, through the reactor."""

from __future__ import annotations

from wf.executor.outputs import read_output_file
from wf.executor.reactor import Attempt, Reactor
from wf.executor.runner import AttemptSpec, CancelSignal, OnStart


class LocalSession:
    """One run's reactor; a finished attempt's result also carries its WF_OUTPUT and log ends."""

    capacity: int | None = None
    fatal: str | None = None

    def __init__(self) -> None:
        self._reactor = Reactor()

    def start(
        self,
        spec: AttemptSpec,
        cancel: CancelSignal | None,
        *,
        on_start: OnStart | None = None,
        tag: object = None,
    ) -> Attempt:
        """Spawn SPEC's command (see ``Reactor.start``)."""
        attempt = self._reactor.start(spec, cancel, on_start=on_start, tag=tag)
        if attempt.result is not None:
            _complete(attempt)
        return attempt

    def wait(self, timeout: float) -> list[Attempt]:
        """Wait up to TIMEOUT seconds; the attempts that are now over."""
        done = self._reactor.wait(timeout)
        for attempt in done:
            _complete(attempt)
        return done

    def wake(self) -> None:
        """Check cancellation of every attempt at the next ``wait``."""
        self._reactor.sweep_soon()

    def close(self) -> None:
        """Release the reactor (its attempts must be over)."""
        self._reactor.close()


def _complete(attempt: Attempt) -> None:
    """Add what the lifecycle needs and only this machine can read: WF_OUTPUT, the log's ends."""
    result = attempt.result
    assert result is not None
    if attempt.sink is not None:
        attempt.sink.fill(result)
    path = attempt.spec.output_path
    if path is not None and attempt.proc is not None:
        result.output, result.output_error = read_output_file(path)


class LocalRunner:
    """Runs attempts on this machine: ``/bin/sh -c`` in a session of its own (docs/executors.md)."""

    name = "local"

    def open(self) -> LocalSession:
        """A session for one run."""
        return LocalSession()

    def describe(self) -> dict[str, object]:
        """Nothing extra to record for a local run."""
        return {}
