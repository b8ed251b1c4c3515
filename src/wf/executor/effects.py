"""What a node's lifecycle asks its driver for: start an attempt and wait for it, or sleep.

The lifecycle (``wf.executor.lifecycle``) is written as generators that yield these effects;
the engine's reactor loop drives many of them at once on one thread, and ``drive`` runs one
to completion by blocking (the global trap, after the scheduler has finished).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TypeVar

from wf.executor.cancel import AttemptCancel
from wf.executor.runner import AttemptResult, AttemptSpec, OnStart, RunnerSession


@dataclass
class Spawn:
    """Start one attempt; the driver sends back its ``AttemptResult`` (or throws ``OSError``
    when its log or WF_OUTPUT file cannot be created)."""

    spec: AttemptSpec
    cancel: AttemptCancel
    on_start: OnStart


@dataclass
class Sleep:
    """Wait SECONDS (a retry delay); the driver sends back True when cancelled meanwhile."""

    seconds: float
    cancel: AttemptCancel


Effect = Spawn | Sleep
T = TypeVar("T")
Steps = Generator[Effect, object, T]


def drive(
    steps: Steps[T],
    session: RunnerSession | None = None,
    on_started: Callable[[], None] | None = None,
) -> T:
    """Run STEPS to the end in this thread, blocking on each effect; attempts run in SESSION
    (a local one of its own when None). ON_STARTED runs after each attempt has started."""
    if session is None:
        from wf.executor.local import LocalSession

        local = LocalSession()
        try:
            return drive(steps, local, on_started)
        finally:
            local.close()
    value: object = None
    error: OSError | None = None
    while True:
        try:
            effect = steps.throw(error) if error is not None else steps.send(value)
        except StopIteration as stop:
            result: T = stop.value
            return result
        value, error = None, None
        if isinstance(effect, Sleep):
            value = effect.cancel.wait(effect.seconds) if effect.seconds > 0 else False
            continue
        on_start = effect.on_start

        def started(
            pid: int, start: float, host: str | None = None, on_start: OnStart = on_start
        ) -> None:
            on_start(pid, start, host)
            if on_started is not None:
                on_started()

        try:
            value = run_in(session, effect.spec, effect.cancel, started)
        except OSError as exc:
            error = exc


def run_in(
    session: RunnerSession, spec: AttemptSpec, cancel: AttemptCancel, on_start: OnStart
) -> AttemptResult:
    """Run one attempt in SESSION to its end, blocking (no other attempt may be in flight)."""
    handle = session.start(spec, cancel, on_start=on_start)
    while handle.result is None:
        session.wait(0.1)
    return handle.result
