"""A fake attempt runner: engine tests without shells, through the public ``AttemptRunner`` seam.

It understands the few shell forms the engine tests use and nothing else (anything else raises,
so a test cannot silently test the fake): statements separated by ``;``, chained with ``&&`` /
``||``, made of ``true``, ``false``, ``:``, ``exit N``, ``sleep S``, ``echo WORDS`` (optionally
``>&2`` or ``>> "$WF_OUTPUT"``) and ``test A OP B`` / ``[ A OP B ]`` with ``=``, ``!=``, ``-eq``,
``-ne``, ``-lt``, ``-le``, ``-gt``, ``-ge``. ``$NAME`` and ``${NAME}`` expand from the attempt's
environment. Sleeping takes real time, but no process starts: the attempt's "process" is a
deadline in the session, which honours the attempt's timeout and its cancellation.
"""

from __future__ import annotations

import itertools
import re
import shlex
import time
from dataclasses import dataclass, field

from wf.durations import format_duration
from wf.executor.runner import (
    AttemptResult,
    AttemptSpec,
    CancelSignal,
    LogSink,
    OnStart,
    Outcome,
)

_VAR = re.compile(r"\$\{(\w+)\}|\$(\w+)")
_PIDS = itertools.count(900_000)


class FakeShellError(ValueError):
    """A command the fake shell does not understand."""


@dataclass
class Script:
    """What a command does: output chunks (is_stdout, bytes) at offsets, exit code, duration."""

    chunks: list[tuple[float, bool, bytes]] = field(default_factory=list)
    output: bytes = b""
    exit_code: int = 0
    duration: float = 0.0


def interpret(command: str, env: dict[str, str]) -> Script:
    """Run COMMAND in the fake shell (no side effects): what it would print, write, return."""
    script = Script()
    for statement in _split(command, ";"):
        if not statement.strip():
            continue
        code, stop = _chain(statement, env, script)
        script.exit_code = code
        if stop:
            break
    return script


def _split(text: str, sep: str) -> list[str]:
    return text.replace("\n", ";").split(sep)


def _chain(statement: str, env: dict[str, str], script: Script) -> tuple[int, bool]:
    """``a && b || c``: returns (status, exited)."""
    tokens = re.split(r"(&&|\|\|)", statement)
    status, run_next = 0, True
    for i in range(0, len(tokens), 2):
        if run_next:
            status, exited = _simple(tokens[i].strip(), env, script)
            if exited:
                return status, True
        if i + 1 < len(tokens):
            op = tokens[i + 1]
            run_next = (status == 0) if op == "&&" else (status != 0)
    return status, False


def _expand(word: str, env: dict[str, str]) -> str:
    return _VAR.sub(lambda m: env.get(m.group(1) or m.group(2), ""), word)


def _simple(text: str, env: dict[str, str], script: Script) -> tuple[int, bool]:
    words = [_expand(w, env) for w in shlex.split(text)]
    if not words:
        return 0, False
    name, args = words[0], words[1:]
    if name in ("true", ":"):
        return 0, False
    if name == "false":
        return 1, False
    if name == "exit":
        return (int(args[0]) if args else script.exit_code), True
    if name == "sleep":
        script.duration += float(args[0])
        return 0, False
    if name == "echo":
        return _echo(args, script), False
    if name in ("test", "["):
        if name == "[":
            if not args or args[-1] != "]":
                raise FakeShellError(f"fake shell: missing ] in {text!r}")
            args = args[:-1]
        return (0 if _test(args) else 1), False
    raise FakeShellError(f"fake shell cannot run {text!r}")


def _echo(args: list[str], script: Script) -> int:
    stdout, to_output = True, False
    if len(args) >= 2 and args[-2] == ">>":
        if args[-1] == "" or not args[-1]:
            raise FakeShellError("fake shell: >> needs a file")
        to_output = True
        args = args[:-2]
    elif args and args[-1] == ">&2":
        stdout = False
        args = args[:-1]
    line = (" ".join(args) + "\n").encode()
    if to_output:
        script.output += line
    else:
        script.chunks.append((script.duration, stdout, line))
    return 0


def _test(args: list[str]) -> bool:
    if len(args) != 3:
        raise FakeShellError(f"fake shell: test takes A OP B, got {args!r}")
    a, op, b = args
    if op == "=":
        return a == b
    if op == "!=":
        return a != b
    numeric = {
        "-eq": int.__eq__,
        "-ne": int.__ne__,
        "-lt": int.__lt__,
        "-le": int.__le__,
        "-gt": int.__gt__,
        "-ge": int.__ge__,
    }
    if op not in numeric:
        raise FakeShellError(f"fake shell: unknown test operator {op}")
    return bool(numeric[op](int(a), int(b)))


class FakeAttempt:
    """One attempt in a fake session."""

    def __init__(self, spec: AttemptSpec, cancel: CancelSignal | None, tag: object) -> None:
        self.spec = spec
        self.cancel = cancel
        self.tag = tag
        self.result: AttemptResult | None = None
        self.script = Script()
        self.sink: LogSink | None = None
        self.start = 0.0
        self.started_at = 0.0  # monotonic
        self.written = 0  # chunks already in the log
        self.pid = 0


class FakeSession:
    """A runner session whose attempts are scripts replayed against the clock."""

    capacity: int | None = None

    def __init__(self, runner: FakeRunner) -> None:
        self._runner = runner
        self._active: list[FakeAttempt] = []
        self.fatal: str | None = None

    def start(
        self,
        spec: AttemptSpec,
        cancel: CancelSignal | None,
        *,
        on_start: OnStart | None = None,
        tag: object = None,
    ) -> FakeAttempt:
        attempt = FakeAttempt(spec, cancel, tag)
        self._runner.started.append(spec)
        attempt.script = interpret(spec.command, dict(spec.env))
        attempt.sink = LogSink(spec.log_path, spec.log_max_bytes)
        attempt.start = time.time()
        attempt.started_at = time.monotonic()
        attempt.pid = next(_PIDS)
        if self.fatal is not None:
            self._finish(
                attempt, Outcome.START_FAILED, -1, f"failed to start command: {self.fatal}"
            )
            return attempt
        if on_start is not None:
            on_start(attempt.pid, attempt.start, self._runner.host)
        self._advance(attempt, time.monotonic())
        if attempt.result is None:
            self._active.append(attempt)
        return attempt

    def wait(self, timeout: float) -> list[FakeAttempt]:
        lose = self._runner.lose_when_started
        if lose is not None and any(a.spec.env.get("WF_TASK_ID") == lose for a in self._active):
            self.lose(self._runner.lose_reason)
        done = [a for a in self._active if a.result is not None]
        if not done and self._active:
            now = time.monotonic()
            ends = [self._due(a) for a in self._active]
            time.sleep(max(0.0, min(timeout, min(ends) - now, 0.01)))
        elif not self._active:
            time.sleep(max(0.0, min(timeout, 0.01)))
        now = time.monotonic()
        for attempt in list(self._active):
            if attempt.result is None:
                self._advance(attempt, now)
        done = [a for a in self._active if a.result is not None]
        self._active = [a for a in self._active if a.result is None]
        return done

    def wake(self) -> None:
        return None

    def close(self) -> None:
        assert not self._active, "session closed with attempts in flight"

    def lose(self, reason: str) -> None:
        """The runner itself goes away: every in-flight attempt fails with REASON."""
        self.fatal = reason
        for attempt in self._active:
            if attempt.result is None:
                self._finish(attempt, Outcome.EXITED, -1, reason)

    def _due(self, attempt: FakeAttempt) -> float:
        end = attempt.started_at + attempt.script.duration
        if attempt.spec.timeout:
            end = min(end, attempt.started_at + attempt.spec.timeout)
        return end

    def _advance(self, attempt: FakeAttempt, now: float) -> None:
        elapsed = now - attempt.started_at
        sink = attempt.sink
        assert sink is not None
        chunks = attempt.script.chunks
        while attempt.written < len(chunks) and chunks[attempt.written][0] <= elapsed:
            _, is_stdout, data = chunks[attempt.written]
            sink.write(data, is_stdout=is_stdout)
            attempt.written += 1
        spec, cancel = attempt.spec, attempt.cancel
        if cancel is not None and cancel.is_set():
            self._finish(attempt, Outcome.CANCELLED, -1, f"cancelled: {cancel.reason}")
        elif spec.timeout and elapsed >= spec.timeout and attempt.script.duration > spec.timeout:
            error = f"timed out after {format_duration(spec.timeout)}"
            self._finish(attempt, Outcome.TIMED_OUT, -1, error)
        elif elapsed >= attempt.script.duration:
            code = attempt.script.exit_code
            self._finish(attempt, Outcome.EXITED, code, f"exit status {code}" if code else None)

    def _finish(self, attempt: FakeAttempt, outcome: Outcome, code: int, error: str | None) -> None:
        sink = attempt.sink
        assert sink is not None
        tail = sink.close()
        result = AttemptResult(
            outcome,
            code,
            error,
            attempt.start,
            time.time(),
            pid=attempt.pid,
            stdout_tail=tail,
            output_truncated=sink.discarded,
            host=self._runner.host,
            output=attempt.script.output if outcome is Outcome.EXITED else None,
        )
        sink.fill(result)
        attempt.result = result


class FakeRunner:
    """An ``AttemptRunner`` that interprets commands instead of starting processes."""

    name = "fake"

    def __init__(
        self,
        host: str | None = "fake-host",
        *,
        lose_when_started: str | None = None,
        lose_reason: str = "fake runner lost",
    ) -> None:
        self.host = host
        #: The session is lost (``FakeSession.lose``) once this node's attempt is running.
        self.lose_when_started = lose_when_started
        self.lose_reason = lose_reason
        self.started: list[AttemptSpec] = []
        self.sessions: list[FakeSession] = []

    def open(self) -> FakeSession:
        session = FakeSession(self)
        self.sessions.append(session)
        return session

    def describe(self) -> dict[str, object]:
        return {"executor": "fake"}
