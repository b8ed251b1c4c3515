"""Run progress on the terminal: plain event lines, or a live status area on a TTY.

See docs/cli.md#wf-run.
"""

from __future__ import annotations

import collections
import sys
import threading
import time
from datetime import datetime
from typing import IO

from wf.cli.fmt import Style, middle_cut, plural, short_id, table_duration
from wf.executor.events import ProgressEvent
from wf.executor.events import ProgressEventKind as K

NAME_WIDTH = 24
REDRAW_INTERVAL = 0.1


def _clock(at: datetime) -> str:
    return at.astimezone().strftime("%H:%M:%S")


class PlainProgress:
    """One line per event; the reason after ``→`` lines only appears on resume."""

    def __init__(
        self,
        *,
        workflow: str,
        mode: str,
        total: int,
        stream: IO[str] | None = None,
        err_stream: IO[str] | None = None,
        style: Style | None = None,
        resume: bool = False,
        banner: str | None = None,
        explain: bool = False,
    ) -> None:
        self.stream = stream or sys.stdout
        self.err_stream = err_stream or sys.stderr
        #: Show why each task runs (``--explain``), as a resume always does.
        self.explain = explain
        self.banner = banner
        self.style = style or Style(self.stream)
        self.workflow = workflow
        self.mode = mode
        self.total = total
        self.resume = resume
        self.started: dict[str, float] = {}
        self.attempts: dict[str, int] = {}
        self.counts = {"done": 0, "failed": 0, "skipped": 0, "cached": 0}
        self.run_id = ""
        self.run_started_at = time.monotonic()
        self._lock = threading.Lock()
        self._broken = False

    def _write(self, text: str, *, flush: bool = True) -> None:
        """Write to the stream; once the reader has gone (broken pipe), stay silent."""
        if self._broken:
            return
        try:
            self.stream.write(text)
            if flush:
                self.stream.flush()
        except (BrokenPipeError, ValueError):
            self._broken = True

    def flush(self) -> None:
        """Push out the lines written so far (the engine calls this after each batch of
        events, so a busy run makes one write per batch instead of one per line)."""
        with self._lock:
            self._write("")

    # -- formatting ----------------------------------------------------------------------
    @staticmethod
    def _label(event: ProgressEvent, verb: str = "") -> str:
        """``verb name`` padded to 24 columns, then a space (docs/cli.md#wf-run)."""
        name = event.task_name or event.task_id or ""
        return (f"{verb} {name}" if verb else name).ljust(NAME_WIDTH) + " "

    def format(self, event: ProgressEvent) -> list[str]:
        """The permanent lines of EVENT."""
        s = self.style
        kind = event.kind
        if kind is K.RUN_STARTED:
            verb = "resumed" if self.resume else "started"
            head = [self.banner] if self.banner else []
            return [
                *head,
                f"{s.sym('start')} run {short_id(event.run_id)} {verb}  workflow={self.workflow} "
                f"mode={self.mode} tasks={self.total}",
            ]
        if kind is K.TASK_STARTED:
            shown = self.resume or self.explain
            reason = f"  ({event.reason})" if shown and event.reason else ""
            return [f"{s.sym('arrow')} {self._label(event)}{_clock(event.at)}{reason}"]
        if kind is K.TASK_DONE:
            elapsed = self._elapsed(event)
            return [s.paint(f"{s.sym('ok')} {self._label(event)}{elapsed}", "green")]
        if kind is K.TASK_RETRYING:
            delay = table_duration(event.delay * 1000) if event.delay else "0s"
            delay = delay.replace(".0s", "s")
            who = event.task_name or event.task_id or ""
            why = f": {event.error}" if event.error else ""
            return [
                s.paint(
                    f"{s.sym('resuming')} retrying {who} (attempt {event.attempt} in {delay}){why}",
                    "yellow",
                )
            ]
        if kind is K.TASK_FAILED:
            if event.status == "cancelled":
                return [
                    s.paint(
                        f"{s.sym('cancelled')} {self._label(event, 'cancelled')}{event.error}",
                        "cyan",
                    )
                ]
            if event.reason == "failure ignored":
                return [f"{s.sym('fail')} {self._label(event, 'failed')}{event.error} (ignored)"]
            return [s.paint(f"{s.sym('fail')} {self._label(event, 'failed')}{event.error}", "red")]
        if kind is K.TASK_REUSED or (kind is K.TASK_SKIPPED and event.status == "success"):
            return [f"= {self._label(event, 'reused')}{event.reason or ''}"]
        if kind is K.TASK_SKIPPED:
            if event.status == "cached":
                return [f"{s.sym('cached')} {self._label(event, 'cached')}{event.reason or ''}"]
            return [f"{s.sym('skipped')} {self._label(event, 'skipped')}{event.reason or ''}"]
        if kind is K.TASK_OUTPUT:
            name = event.task_name or event.task_id
            title = (
                f"{name} output (truncated to 64 KiB):" if event.truncated else f"{name} output:"
            )
            body = [f"  {line}" for line in (event.output or "").splitlines()]
            return [title, *body]
        status = s.run_status(event.run_status or "").split(" ", 1)[-1]
        return [f"{s.sym('done')} done run {short_id(event.run_id)} {status}"]

    def _elapsed(self, event: ProgressEvent) -> str:
        key = event.task_id or ""
        start = self.started.get(key)
        if start is None:
            return "-"
        return table_duration((time.monotonic() - start) * 1000)

    def track(self, event: ProgressEvent) -> None:
        """Update counters and running-task bookkeeping for EVENT."""
        key = event.task_id or ""
        if event.kind is K.RUN_STARTED:
            self.run_id = event.run_id
            self.run_started_at = time.monotonic()
        elif event.kind is K.TASK_STARTED:
            self.started[key] = time.monotonic()
            self.attempts[key] = event.attempt
        elif event.kind is K.TASK_RETRYING:
            self.attempts[key] = event.attempt
        elif event.kind is K.TASK_DONE:
            self.counts["done"] += 1
        elif event.kind is K.TASK_FAILED:
            self.counts["failed"] += 1
        elif event.kind is K.TASK_REUSED:
            self.counts["done"] += 1
        elif event.kind is K.TASK_SKIPPED:
            key = {"success": "done", "cached": "cached"}.get(event.status or "", "skipped")
            self.counts[key] += 1

    def finish_task(self, event: ProgressEvent) -> None:
        """Forget a task once it has ended (after its line is formatted)."""
        if event.kind in (K.TASK_DONE, K.TASK_FAILED, K.TASK_SKIPPED, K.TASK_REUSED):
            self.started.pop(event.task_id or "", None)

    def __call__(self, event: ProgressEvent) -> None:
        with self._lock:
            self.track(event)
            lines = self.format(event)
            self.finish_task(event)
            self._write("".join(line + "\n" for line in lines), flush=False)

    def close(self) -> None:
        """Push out anything still buffered."""
        self.flush()

    def notice(self, text: str) -> None:
        """A message for the user on stderr (e.g. "cancelling run …"); safe in a signal handler."""
        try:
            self.err_stream.write(text + "\n")
            self.err_stream.flush()
        except (BrokenPipeError, ValueError):
            pass


class LiveProgress(PlainProgress):
    """Plain lines above a status area that is redrawn at most 10 times per second."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._area_lines = 0
        # Messages queued by notice(), printed by the renderer between two status areas.
        self._notices: collections.deque[str] = collections.deque()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._redraw_loop, name="wf-live", daemon=True)
        self._thread.start()

    def _status_lines(self) -> list[str]:
        import shutil  # live progress only: its imports cost ≈1.5 ms of start-up

        s = self.style
        width = shutil.get_terminal_size((80, 24)).columns
        elapsed = table_duration((time.monotonic() - self.run_started_at) * 1000)
        running = len(self.started)
        finished = sum(self.counts.values())
        waiting = max(0, self.total - finished - running)
        lines = [
            s.paint(
                f"{self.workflow}  run {short_id(self.run_id)}  {self.mode}  {elapsed}", "bold"
            ),
            f"  done {self.counts['done']}  failed {self.counts['failed']}  skipped "
            f"{self.counts['skipped']}  running {running}  waiting {waiting}  / "
            f"{plural(self.total, 'task')}"
            + (f"  ({self.counts['cached']} up to date)" if self.counts["cached"] else ""),
        ]
        now = time.monotonic()
        shown = sorted(self.started.items(), key=lambda kv: kv[1])[:10]
        for task_id, start in shown:
            attempt = self.attempts.get(task_id, 1)
            lines.append(
                f"  {s.sym('running')} {middle_cut(task_id, max(10, width - 30))}  "
                f"attempt {attempt}  {table_duration((now - start) * 1000)}"
            )
        if running > len(shown):
            lines.append(f"  … and {running - len(shown)} more")
        return [line[: width - 1] if len(line) >= width else line for line in lines]

    def _clear_area(self) -> str:
        """The escape sequence that erases the status area (empty when none is drawn)."""
        drawn, self._area_lines = self._area_lines, 0
        return f"\x1b[{drawn}F\x1b[J" if drawn else ""

    def _draw_area(self) -> str:
        lines = self._status_lines()
        self._area_lines = len(lines)
        return "\n".join(lines) + "\n"

    def notice(self, text: str) -> None:
        """Queue a message; the renderer prints it between two status areas (within 0.1 s).

        Nothing is written here, so this is safe in a signal handler, and the message never
        lands inside the status area (which would leave a stale header line behind).
        """
        self._notices.append(text)

    def _print_notices(self) -> None:
        """Clear the area and print the queued messages on stderr (caller holds the lock)."""
        if not self._notices:
            return
        self._write(self._clear_area())
        while self._notices:
            super().notice(self._notices.popleft())

    def _redraw_loop(self) -> None:
        while not self._stop.wait(REDRAW_INTERVAL):
            with self._lock:
                if self._stop.is_set():
                    return
                self._print_notices()
                self._write(self._clear_area() + self._draw_area())

    def __call__(self, event: ProgressEvent) -> None:
        with self._lock:
            self._print_notices()
            self.track(event)
            # Running tasks live in the status area; only finished events become lines.
            lines = [] if event.kind is K.TASK_STARTED else self.format(event)
            self.finish_task(event)
            text = self._clear_area() + "".join(line + "\n" for line in lines)
            if event.kind is not K.RUN_DONE:
                text += self._draw_area()
            self._write(text)

    def close(self) -> None:
        """Stop redrawing, clear the status area, and print any message still queued."""
        self._stop.set()
        self._thread.join()
        with self._lock:
            self._write(self._clear_area())
            self._print_notices()
