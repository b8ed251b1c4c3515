"""Live updates of ``wf ui``: the shared poller's events and its load on the database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web UI tests need the 'ui' extra")

from wf.history import run_json
from wf.storage import Run, RunStatus, Store, TaskExecution, TaskStatus
from wf.web.db import Database
from wf.web.events import Event, RunWatcher


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[Store]:
    """A normal (writing) store: what ``wf run`` uses."""
    with Store(tmp_path / "wf.db") as store:
        yield store


@pytest.fixture
def watcher(writer: Store) -> Iterator[RunWatcher]:
    db = Database(Path(writer.path))
    yield RunWatcher(db)
    db.close()


def _run(writer: Store, status: RunStatus = RunStatus.RUNNING) -> Run:
    run_id = writer.create_run(
        Run(workflow_name="demo", workflow_file="/w/demo.toml", status=status, total_tasks=2)
    )
    return writer.get_run(run_id)


def test_a_new_run_is_one_run_event_with_the_runs_json(writer: Store, watcher: RunWatcher):
    assert watcher.poll() == []  # the baseline
    run = _run(writer)
    events = watcher.poll()
    assert events == [Event("run", run_json(writer.get_run(run.id)))]
    assert watcher.poll() == []  # nothing new: nothing sent


def test_every_change_of_a_run_row_is_one_event(writer: Store, watcher: RunWatcher):
    run = _run(writer)
    watcher.poll()
    for status in (RunStatus.SUCCESS, RunStatus.FAILED):
        run.status = status
        writer.update_run(run)
        events = [e for e in watcher.poll() if e.kind == "run"]
        assert [e.data["status"] for e in events] == [str(status)]


def test_attempt_changes_of_an_active_run_are_tasks_events(writer: Store, watcher: RunWatcher):
    run = _run(writer)
    watcher.poll()
    te = TaskExecution(
        run_id=run.id, task_id="a", task_name="a", command="true", state=TaskStatus.RUNNING
    )
    writer.create_task_execution(te)
    events = watcher.poll()
    assert Event("tasks", {"run_id": run.id, "states": {"a": "running"}}) in events
    te.state = TaskStatus.SUCCESS
    writer.update_task_execution(te)
    events = watcher.poll()
    assert Event("tasks", {"run_id": run.id, "states": {"a": "success"}}) in events


def test_an_idle_database_costs_one_cheap_query_per_poll(writer: Store, watcher: RunWatcher):
    _run(writer)
    watcher.poll()
    before = watcher.queries
    for _ in range(10):
        assert watcher.poll() == []
    assert watcher.queries - before == 10  # PRAGMA data_version, nothing else


def test_a_database_created_after_the_start_reports_its_runs(tmp_path: Path):
    db = Database(tmp_path / "later.db")
    watcher = RunWatcher(db)
    try:
        assert watcher.poll() == []
        with Store(tmp_path / "later.db") as writer:
            run = _run(writer)
            events = watcher.poll()
        assert [e.data["id"] for e in events if e.kind == "run"] == [run.id]
    finally:
        db.close()


def test_one_poller_serves_every_subscriber(writer: Store, watcher: RunWatcher):
    """Twenty open pages share one polling task: each tick costs the same few queries as for
    one page, and every page gets the event."""
    watcher.interval = 0.05

    async def scenario() -> None:
        first = watcher.subscribe()
        task = watcher._task
        queues = [first] + [watcher.subscribe() for _ in range(19)]
        assert watcher._task is task  # no second poller
        while watcher.polls < 2:  # the baseline is taken
            await asyncio.sleep(0.01)
        polls, queries = watcher.polls, watcher.queries
        run = await asyncio.to_thread(_run, writer)
        got = [await asyncio.wait_for(q.get(), 10) for q in queues]
        assert all(e.kind == "run" and e.data["id"] == run.id for e in got)
        ticks = watcher.polls - polls
        # one data_version per tick, plus the few reads of the one tick that saw the change
        assert watcher.queries - queries <= ticks + 3
        for q in queues:
            watcher.unsubscribe(q)
        assert task is not None
        await asyncio.wait_for(task, 5)  # the poller stops with its last subscriber

    asyncio.run(scenario())
    assert watcher.subscribers == 0


def test_events_are_encoded_as_server_sent_events() -> None:
    text = Event("run", {"id": "x", "workflow": "<b>"}).encode()
    assert text == 'event: run\ndata: {"id":"x","workflow":"<b>"}\n\n'


def test_runs_changed_just_before_the_start_are_not_reported_again(
    writer: Store, watcher: RunWatcher
):
    """Recent rows inside the look-back margin are part of the baseline, not news."""
    recent = [_run(writer, RunStatus.SUCCESS) for _ in range(5)]
    watcher.poll()
    changed = recent[2]
    changed.status = RunStatus.FAILED
    writer.update_run(changed)
    events = watcher.poll()
    assert [e.data["id"] for e in events if e.kind == "run"] == [changed.id]
