"""Fixtures for engine tests: a tmp Store and logs dir, TOML workflows, and a run helper.

Every run goes through a real executor with real (tiny) shell commands; the helper returns
the final run row together with the progress events, attempt rows and audit entries.
"""

from __future__ import annotations

import json
import os
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from wf.dag import DAG, load_dag
from wf.executor import ProgressEvent, executor_for_mode
from wf.storage import AuditEntry, ForensicLog, Run, Store, TaskExecution

KILL_GRACE = 0.2


@pytest.fixture(autouse=True)
def wf_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private WF_HOME and cwd, so nothing leaks into the user's configuration."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("WF_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "db" / "wf.db") as s:
        yield s


@pytest.fixture
def logs_dir(tmp_path: Path) -> Path:
    return tmp_path / "logs"


WriteDag = Callable[..., DAG]


@pytest.fixture
def write_dag(tmp_path: Path) -> WriteDag:
    """Write TOML (dedented) to ``tmp_path/<name>.toml`` and build its DAG from that file."""

    def write(text: str, *, name: str = "flow") -> DAG:
        path = tmp_path / f"{name}.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return load_dag(path)

    return write


@dataclass
class Result:
    """A finished run with everything it recorded.

    ``rows`` cover the whole run; ``audit`` only this invocation (entries after ``audit_after``).
    """

    run: Run
    events: list[ProgressEvent]
    store: Store
    logs_dir: Path
    audit_after: int = 0

    def rows(self, task_id: str | None = None) -> list[TaskExecution]:
        """Attempt rows of the run (optionally of one node), in insertion order."""
        return self.store.list_task_executions(run_id=self.run.id, task_id=task_id)

    def row(self, task_id: str) -> TaskExecution:
        """The latest attempt row of TASK_ID."""
        rows = self.rows(task_id)
        assert rows, f"no rows for {task_id}"
        return rows[-1]

    def states(self) -> dict[str, str]:
        """The state of the latest row of every node that has one."""
        return {r.task_id: str(r.state) for r in self.rows()}

    def audit(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Audit entries (event data parsed, plus ``_type``), in insertion order."""
        out = []
        for entry in self._entries(event_type):
            data = json.loads(entry.event_data)
            data["_type"] = entry.event_type
            out.append(data)
        return out

    def audit_types(self) -> list[str]:
        return [e.event_type for e in self._entries(None)]

    def _entries(self, event_type: str | None) -> list[AuditEntry]:
        entries = self.store.list_audit_trail(run_id=self.run.id, event_type=event_type)
        return [e for e in entries if e.id > self.audit_after]

    def forensic(self, log_type: str | None = None) -> list[ForensicLog]:
        logs = self.store.list_forensic_logs(run_id=self.run.id)
        return [f for f in logs if log_type is None or f.log_type == log_type]

    def kinds(self, task_id: str | None = None) -> list[str]:
        """Progress event kinds (optionally only those of one node)."""
        return [str(e.kind) for e in self.events if task_id is None or e.task_id == task_id]

    def log(self, task_id: str, attempt: int = 1) -> bytes:
        return (self.logs_dir / self.run.id / task_id / f"attempt_{attempt}.log").read_bytes()


class Engine:
    """Builds executors bound to the test's store and logs dir, and runs DAGs with them."""

    def __init__(self, store: Store, logs_dir: Path) -> None:
        self.store = store
        self.logs_dir = logs_dir

    def executor(self, mode: str = "sequential", workers: int = 4, **kwargs: Any) -> Any:
        kwargs.setdefault("logs_dir", self.logs_dir)
        kwargs.setdefault("kill_grace", KILL_GRACE)
        return executor_for_mode(mode, self.store, workers, **kwargs)

    def run(
        self,
        dag: DAG,
        mode: str = "sequential",
        *,
        workers: int = 4,
        executor_kwargs: dict[str, Any] | None = None,
        **execute_kwargs: Any,
    ) -> Result:
        executor = self.executor(mode, workers, **(executor_kwargs or {}))
        events: list[ProgressEvent] = []
        run = executor.execute(dag, progress=events.append, **execute_kwargs)
        return Result(run, events, self.store, self.logs_dir)

    def resume(
        self,
        run_id: str,
        mode: str = "sequential",
        *,
        workers: int = 4,
        executor_kwargs: dict[str, Any] | None = None,
        **resume_kwargs: Any,
    ) -> Result:
        executor = self.executor(mode, workers, **(executor_kwargs or {}))
        events: list[ProgressEvent] = []
        before = self.store.list_audit_trail(run_id=run_id)
        run = executor.resume(run_id, progress=events.append, **resume_kwargs)
        return Result(run, events, self.store, self.logs_dir, before[-1].id if before else 0)


@pytest.fixture
def engine(store: Store, logs_dir: Path) -> Engine:
    return Engine(store, logs_dir)


WhenLogContains = Callable[..., threading.Thread]


@pytest.fixture
def when_log_contains(logs_dir: Path) -> WhenLogContains:
    """Start a thread that runs ACTION once some attempt log contains NEEDLE.

    Used to act (cancel, read) only after a task has demonstrably reached a given point.
    """
    return lambda needle, action, **kw: _when_log_contains(logs_dir, needle, action, **kw)


def _when_log_contains(
    logs_dir: Path, needle: bytes, action: Callable[[], object], *, limit: float = 20.0
) -> threading.Thread:

    def watch() -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            for path in logs_dir.glob("*/*/attempt_*.log"):
                try:
                    if needle in path.read_bytes():
                        action()
                        return
                except OSError:
                    pass
            time.sleep(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def open_fds() -> Callable[[], set[str]]:
    """The file descriptors of this process that stay open (transient ones of other threads,
    such as a log watcher reading a file, are filtered out by looking twice)."""

    def snapshot() -> set[str]:
        first = set(os.listdir("/proc/self/fd"))
        time.sleep(0.1)
        return first & set(os.listdir("/proc/self/fd"))

    return snapshot
