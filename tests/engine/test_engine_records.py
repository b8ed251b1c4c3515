"""What a run records: audit, events, snapshots, modes.

See docs/storage.md, docs/api.md#follow-progress.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from wf.executor import ProgressEvent, SequentialExecutor
from wf.storage import ExecutionMode, RunStatus


def mode_bits(path) -> int:
    return os.stat(path).st_mode & 0o777


SIMPLE = """
    tags = ["nightly"]
    [tasks.a]
    cmd = "echo a"
    [tasks.b]
    cmd = "echo b"
    depends_on = ["a"]
"""


# -- run row --------------------------------------------------------------------------------
def test_run_row_records_workflow_mode_tags_and_owner(write_dag, engine, tmp_path):
    dag = write_dag(SIMPLE, name="simple")
    result = engine.run(dag, "parallel", workers=3)
    run = result.run
    assert run.workflow_name == "simple"
    assert run.workflow_file == str(tmp_path / "simple.toml")
    assert run.tags == ["nightly"]
    assert run.total_tasks == 2
    assert run.execution_mode is ExecutionMode.PARALLEL
    assert run.max_parallel == 3
    assert run.owner_pid == os.getpid()
    assert run.owner_host
    assert run.heartbeat_at is not None
    assert run.start_time <= run.end_time
    cache = engine.store.get_dag_cache(run.id)
    assert cache is not None
    assert json.loads(cache.dag_json)["name"] == "simple"
    assert (cache.total_nodes, cache.total_levels) == (2, 2)


def test_sequential_run_records_max_parallel_1(write_dag, engine):
    result = engine.run(write_dag(SIMPLE), "sequential", workers=8)
    assert result.run.max_parallel == 1
    assert result.run.execution_mode is ExecutionMode.SEQUENTIAL


def test_execution_does_not_mutate_the_dag_and_can_run_it_again(write_dag, engine):
    dag = write_dag(SIMPLE)
    before = dag.to_json()
    first = engine.run(dag)
    second = engine.run(dag)
    assert dag.to_json() == before
    assert first.run.id != second.run.id
    assert second.run.status is RunStatus.SUCCESS
    assert [r.attempt for r in second.rows()] == [1, 1]


def test_concurrent_executions_of_one_dag_are_independent(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "sleep 0.1; echo $WF_RUN_ID"
        register = "who"
        [tasks.b]
        cmd = "echo {{.who}}"
        depends_on = ["a"]
    """)
    executor = engine.executor("work_stealing", 2)
    runs = []
    threads = [
        threading.Thread(target=lambda: runs.append(executor.execute(dag))) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(runs) == 2
    for run in runs:
        assert run.status is RunStatus.SUCCESS
        (b,) = engine.store.list_task_executions(run_id=run.id, task_id="b")
        assert Path(b.log_path).read_text() == f"{run.id}\n"


# -- audit ----------------------------------------------------------------------------------
def test_audit_sequence_of_a_simple_run(write_dag, engine):
    result = engine.run(write_dag(SIMPLE))
    assert result.audit_types() == [
        "run_started",
        "task_started",
        "task_succeeded",
        "task_started",
        "task_succeeded",
        "run_completed",
    ]
    started, a_started, a_done, *_, completed = result.audit()
    assert started == {
        "_type": "run_started",
        "workflow": "flow",
        "mode": "sequential",
        "max_parallel": 1,
        "tags": ["nightly"],
    }
    assert a_started == {"_type": "task_started", "task_id": "a", "task_name": "a", "attempt": 1}
    assert a_done == {"_type": "task_succeeded", "task_id": "a", "attempt": 1}
    assert completed == {
        "_type": "run_completed",
        "status": "success",
        "duration_ms": result.run.duration_ms,
        "error": None,
        "failed_task": None,
    }


def test_audit_of_a_failed_run(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "exit 2"
    """)
    result = engine.run(dag)
    assert result.audit_types() == ["run_started", "task_started", "task_failed", "run_completed"]
    failed = result.audit("task_failed")[0]
    assert failed == {
        "_type": "task_failed",
        "task_id": "a",
        "attempts": 1,
        "error": "exit status 2",
        "ignored": False,
    }
    completed = result.audit("run_completed")[0]
    assert completed["status"] == "failed"
    assert completed["failed_task"] == "a"
    assert completed["error"] == "task a failed after 1 attempt(s): exit status 2"


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_trail SET event_type = 'x'", "DELETE FROM audit_trail"],
)
def test_audit_trail_refuses_update_and_delete(write_dag, engine, statement):
    result = engine.run(write_dag(SIMPLE))
    conn = sqlite3.connect(engine.store.path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="audit_trail is append-only"):
            conn.execute(statement)
    finally:
        conn.close()
    assert len(result.audit()) == 6


# -- file modes -----------------------------------------------------------------------------
def test_database_logs_and_output_files_are_private(write_dag, engine, store, logs_dir):
    result = engine.run(write_dag(SIMPLE))
    assert mode_bits(store.path) == 0o600
    assert mode_bits(os.path.dirname(store.path)) == 0o700
    run_dir = logs_dir / result.run.id
    for directory in (logs_dir, run_dir, run_dir / "a", run_dir / "b"):
        assert mode_bits(directory) == 0o700, directory
    for task in ("a", "b"):
        assert mode_bits(run_dir / task / "attempt_1.log") == 0o600
        assert not (run_dir / task / "attempt_1.output").exists()  # the task wrote none


# -- snapshots ------------------------------------------------------------------------------
def test_snapshots_checkpoint_at_start_and_after_success_final_at_end(write_dag, engine, store):
    dag = write_dag("""
        [tasks.a]
        cmd = "echo va"
        register = "x"
        [tasks.b]
        cmd = "echo vb"
        register = "y"
        depends_on = ["a"]
    """)
    result = engine.run(dag, runtime_vars={"env": "prod"})
    snaps = sorted(
        store.list_context_snapshots(run_id=result.run.id), key=lambda s: (s.snapshot_time, s.id)
    )
    batches: dict = {}
    for s in snaps:
        batches.setdefault((s.snapshot_time, s.snapshot_type), {})[s.variable_name] = (
            s.variable_value,
            s.set_by_task,
        )
    types = [t for _, t in batches]
    assert types[0] == "checkpoint"
    assert types[-1] == "final"
    assert types.count("final") == 1
    first = next(iter(batches.values()))
    assert first == {"env": ("prod", "__runtime__")}
    final = list(batches.values())[-1]
    assert final == {"env": ("prod", "__runtime__"), "x": ("va", "a"), "y": ("vb", "b")}
    # after each success a checkpoint holds what that success registered
    checkpoints = [v for (_, t), v in batches.items() if t == "checkpoint"]
    assert any(v.get("x") == ("va", "a") for v in checkpoints[1:])
    assert any(v.get("y") == ("vb", "b") for v in checkpoints[1:])


def test_no_snapshots_while_the_context_is_empty(write_dag, engine, store):
    result = engine.run(write_dag(SIMPLE))
    assert store.list_context_snapshots(run_id=result.run.id) == []


@pytest.mark.parametrize("status", ["failed", "cancelled"])
def test_final_snapshot_is_written_whatever_the_outcome(write_dag, engine, store, status):
    dag = write_dag("""
        [tasks.a]
        cmd = "exit 1"
    """)
    cancel = threading.Event()
    if status == "cancelled":
        cancel.set()
    result = engine.run(dag, runtime_vars={"v": "1"}, cancel=cancel)
    assert str(result.run.status) == status
    types = {s.snapshot_type for s in store.list_context_snapshots(run_id=result.run.id)}
    assert types == {"checkpoint", "final"}


# -- option validation ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"runtime_vars": {"bad name": "x"}}, "bad name"),
        ({"runtime_vars": {"$(cmd)": "x"}}, "cmd"),
        ({"runtime_vars": {"failed_task": "x"}}, "reserved"),
        ({"runtime_vars": {"error_message": "x"}}, "reserved"),
        ({"timeout": -1}, "timeout"),
    ],
)
def test_invalid_options_raise_value_error_before_anything_is_written(
    write_dag, engine, store, logs_dir, kwargs, message
):
    dag = write_dag(SIMPLE)
    with pytest.raises(ValueError, match=message):
        engine.executor().execute(dag, **kwargs)
    assert store.list_runs() == []
    assert not logs_dir.exists()


# -- progress events ------------------------------------------------------------------------
def test_progress_events_of_a_simple_run(write_dag, engine):
    result = engine.run(write_dag(SIMPLE))
    kinds = [(e.kind, e.task_id) for e in result.events]
    assert kinds == [
        ("run_started", None),
        ("task_started", "a"),
        ("task_done", "a"),
        ("task_started", "b"),
        ("task_done", "b"),
        ("run_done", None),
    ]
    assert all(e.run_id == result.run.id for e in result.events)
    assert result.events[0].run_status == "running"
    assert result.events[-1].run_status == "success"
    assert result.events[1].attempt == 1
    assert result.events[2].status == "success"
    times = [e.at for e in result.events]
    assert times == sorted(times)


def test_progress_events_of_a_failed_run(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "exit 1"
        retries = 1
    """)
    result = engine.run(dag)
    assert result.kinds() == [
        "run_started",
        "task_started",
        "task_retrying",
        "task_failed",
        "run_done",
    ]
    retrying, failed, done = result.events[2:]
    assert retrying.attempt == 2
    assert (failed.status, failed.error) == ("failed", "exit status 1")
    assert done.run_status == "failed"
    assert done.error == "task a failed after 2 attempt(s): exit status 1"


def test_every_event_is_delivered_before_execute_returns_even_to_a_slow_callback(write_dag, engine):
    received: list[ProgressEvent] = []

    def slow(event: ProgressEvent) -> None:
        time.sleep(0.05)
        received.append(event)

    run = engine.executor().execute(write_dag(SIMPLE), progress=slow)
    assert len(received) == 6
    assert received[-1].kind == "run_done"
    assert received[-1].run_status == str(run.status)


def test_a_raising_callback_does_not_break_the_run(write_dag, engine):
    calls: list[str] = []

    def broken(event: ProgressEvent) -> None:
        calls.append(str(event.kind))
        raise RuntimeError("callback bug")

    run = engine.executor().execute(write_dag(SIMPLE), progress=broken)
    assert run.status is RunStatus.SUCCESS
    assert calls[0] == "run_started"
    assert calls[-1] == "run_done"
    assert len(calls) == 6


def test_queue_put_is_a_valid_callback(write_dag, engine):
    events: queue.Queue[ProgressEvent] = queue.Queue()
    run = engine.executor().execute(write_dag(SIMPLE), progress=events.put)
    kinds = []
    while not events.empty():
        kinds.append(str(events.get_nowait().kind))
    assert run.status is RunStatus.SUCCESS
    assert kinds[0] == "run_started"
    assert kinds[-1] == "run_done"
    assert len(kinds) == 6


def test_print_output_emits_task_output_after_done_and_failed(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "echo hello"
        [tasks.silent]
        cmd = "true"
        [tasks.b]
        cmd = "echo bye; exit 1"
        depends_on = ["a", "silent"]
    """)
    result = engine.run(dag, print_output=True)
    assert result.kinds("a") == ["task_started", "task_done", "task_output"]
    assert result.kinds("silent") == ["task_started", "task_done"]
    assert result.kinds("b") == ["task_started", "task_failed", "task_output"]
    outputs = {e.task_id: (e.output, e.truncated) for e in result.events if e.kind == "task_output"}
    assert outputs == {"a": ("hello\n", False), "b": ("bye\n", False)}


def test_no_task_output_without_print_output(write_dag, engine):
    result = engine.run(write_dag(SIMPLE))
    assert "task_output" not in result.kinds()


def test_task_output_carries_at_most_64_kib_cut_at_a_character_boundary(write_dag, engine):
    # 65535 ASCII bytes followed by a two-byte character: byte 65536 is half of it.
    dag = write_dag("""
        [tasks.big]
        cmd = "head -c 65535 /dev/zero | tr '\\\\0' a; printf '\\\\303\\\\251tail'"
    """)
    result = engine.run(dag, print_output=True)
    assert result.log("big").endswith("étail".encode())
    (event,) = [e for e in result.events if e.kind == "task_output"]
    assert event.truncated is True
    assert event.output == "a" * 65535


def test_task_output_of_exactly_64_kib_is_not_truncated(write_dag, engine):
    dag = write_dag("""
        [tasks.big]
        cmd = "head -c 65536 /dev/zero | tr '\\\\0' a"
    """)
    result = engine.run(dag, print_output=True)
    (event,) = [e for e in result.events if e.kind == "task_output"]
    assert event.truncated is False
    assert event.output == "a" * 65536


def test_executor_serves_several_runs_in_turn(write_dag, engine, store, logs_dir):
    executor = SequentialExecutor(store, logs_dir=logs_dir, kill_grace=0.2)
    dag = write_dag(SIMPLE)
    first = executor.execute(dag)
    second = executor.execute(dag)
    assert {first.status, second.status} == {RunStatus.SUCCESS}
    assert len(store.list_runs()) == 2


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
@pytest.mark.parametrize("mode", ["sequential", "parallel", "work_stealing"])
def test_runs_leak_no_file_descriptors(write_dag, engine, tmp_path, open_fds, mode):
    work = tmp_path / "work"
    work.mkdir()
    dag = write_dag(f"""
        [tasks.ok]
        cmd = "echo ok"
        [tasks.in_dir]
        cmd = "pwd"
        working_dir = "{work}"
        [tasks.retry]
        cmd = "exit 1"
        retries = 1
        ignore_failure = true
        [tasks.slow]
        cmd = "sleep 5"
        timeout = "50ms"
        ignore_failure = true
        [tasks.early]
        cmd = "echo {{{{.missing}}}}"
        ignore_failure = true
    """)
    executor = engine.executor(mode, 3)
    executor.execute(dag)  # warm up lazily created helpers (the watchdog pipe)
    before = open_fds()
    for _ in range(2):
        assert executor.execute(dag).status is RunStatus.SUCCESS
    assert open_fds() - before == set()


def test_opening_records_are_committed_before_the_first_task_starts(
    write_dag, engine, tmp_path, monkeypatch
):
    # Group commits wait for more work; with an hour's delay only the explicit commit at the
    # start of scheduling can put run_started and the first checkpoint on record in time for
    # the first task to see them (a run killed at that moment keeps its opening records).
    import sys

    import wf.executor.writer as writer

    # "a" counts as a quick node whose start waits an hour for its batch, so only the
    # opening commit can have put anything on record when it runs.
    monkeypatch.setattr(writer, "COMMIT_DELAY", 3600.0)
    monkeypatch.setattr(writer, "START_DELAY", 3600.0)
    monkeypatch.setattr(writer, "quick_nodes", lambda durations: frozenset({"a"}))
    script = tmp_path / "peek.py"
    script.write_text(
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1])\n"
        "print(sorted({r[0] for r in c.execute('SELECT event_type FROM audit_trail')}))\n"
        "print(c.execute('SELECT COUNT(*) FROM context_snapshots').fetchone()[0])\n"
    )
    db = tmp_path / "db" / "wf.db"
    dag = write_dag(f"""
        [tasks.a]
        cmd = '"{sys.executable}" "{script}" "{db}"'
    """)
    result = engine.run(dag, runtime_vars={"greeting": "hi"})
    assert result.run.status == RunStatus.SUCCESS, result.run.error
    types, snapshots = result.log("a").decode().splitlines()
    assert "'run_started'" in types
    assert "'task_started'" not in types  # queued with the first task, not yet committed
    assert int(snapshots) >= 1  # the first checkpoint


@pytest.mark.parametrize("quick", [False, True], ids=["unknown-node", "quick-node"])
def test_a_running_attempt_is_on_record_while_it_runs(
    write_dag, engine, tmp_path, monkeypatch, quick
):
    # Batches may wait long (an hour here). A started attempt is committed at once, or, for a
    # node known to be quick, once it has run START_DELAY; either way a task that keeps
    # running is on record (with the results before it) while it runs.
    import sys

    import wf.executor.writer as writer

    monkeypatch.setattr(writer, "COMMIT_DELAY", 3600.0)
    if quick:
        monkeypatch.setattr(writer, "quick_nodes", lambda durations: frozenset({"first", "second"}))
    script = tmp_path / "peek.py"
    script.write_text(
        "import sqlite3, sys, time\n"
        "time.sleep(0.5)\n"
        "c = sqlite3.connect(sys.argv[1])\n"
        "print(sorted(c.execute('SELECT task_id, state FROM task_executions')))\n"
    )
    db = tmp_path / "db" / "wf.db"
    dag = write_dag(f"""
        [tasks.first]
        cmd = "true"

        [tasks.second]
        cmd = '"{sys.executable}" "{script}" "{db}"'
    """)
    result = engine.run(dag)  # sequential: first, then second
    assert result.run.status == RunStatus.SUCCESS, result.run.error
    assert result.log("second").decode().strip() == (
        "[('first', 'success'), ('second', 'running')]"
    )


def test_audit_entries_share_the_commit_of_the_operations_around_them_in_order(store, monkeypatch):
    from wf.executor.writer import StoreWriter
    from wf.storage import Run, Store

    run_id = store.create_run(Run(workflow_name="w"))
    batches: list[int] = []
    original = Store.create_audit_entries

    def counted(self, entries):
        batches.append(len(entries))
        return original(self, entries)

    monkeypatch.setattr(Store, "create_audit_entries", counted)
    writer = StoreWriter(store)
    writer.audit(run_id, "first", '{"n":1}')
    writer.submit(lambda s: s.create_forensic_log(run_id, "timeout", "x"))
    writer.audit(run_id, "second", '{"n":2}')
    assert writer.due_at is not None  # queued audit entries alone make a commit due
    assert store.list_audit_trail(run_id=run_id) == []  # nothing before the commit
    writer.flush()
    assert batches == [2]  # one statement for the commit's audit entries
    entries = store.list_audit_trail(run_id=run_id)
    assert [(e.event_type, e.event_data) for e in entries] == [
        ("first", '{"n":1}'),
        ("second", '{"n":2}'),
    ]


def test_incremental_snapshots_write_what_comparing_every_variable_writes() -> None:
    """RunState.snapshot looks only at the variables set or restored since its last call; the
    rows are those a comparison of every variable with its last written state gives."""
    import random
    from datetime import UTC, datetime

    from wf.contextmap import ContextMap, ContextMapError, Variable
    from wf.executor.events import EventDispatcher
    from wf.executor.runstate import RunState, _mark

    class Writer:
        def __init__(self) -> None:
            self.ops: list = []

        def submit(self, op) -> None:
            self.ops.append(op)

    class Rows:
        def create_context_snapshots(self, rows) -> None:
            self.rows = [
                (r.snapshot_type, r.variable_name, r.variable_value, r.set_by_task) for r in rows
            ]

    rng = random.Random(16)
    ctx = ContextMap()
    writer = Writer()
    rs = RunState(
        store=None,
        dag=None,
        ctx=ctx,
        run_id="r",
        workflow_name="w",
        mode=None,  # type: ignore[arg-type]
        settings=None,
        events=EventDispatcher(None),
        writer=writer,  # type: ignore[arg-type]
        run_cancel=None,
        run_log_dir="unused",
        failfast=None,  # type: ignore[arg-type]
    )
    marks: dict[str, tuple[str, object]] = {}
    for step in range(600):
        action = rng.random()
        name, owner = f"v{rng.randrange(40)}", f"t{rng.randrange(3)}"
        if action < 0.5:
            with contextlib.suppress(ContextMapError):
                ctx.set(owner, name, str(rng.randrange(4)))
        elif action < 0.55:
            restored = Variable(name, str(step), owner, datetime.now(UTC), False)
            ctx.restore_variable(restored)
            if rng.random() < 0.5:
                rs.mark_snapshotted([restored])
                marks[name] = _mark(restored)
        elif action < 0.58:  # marked as written with a value the context does not hold
            other = Variable(name, "elsewhere", owner, datetime.now(UTC), False)
            rs.mark_snapshotted([other])
            marks[name] = _mark(other)
        full = rng.random() < 0.1
        if action < 0.58 and rng.random() < 0.6:
            continue  # several changes between two snapshots
        everything = ctx.snapshot()
        expected = everything if full else [v for v in everything if marks.get(v.name) != _mark(v)]
        for v in expected:
            marks[v.name] = _mark(v)
        writer.ops.clear()
        rs.snapshot("checkpoint", full=full)
        got: list = []
        for op in writer.ops:
            sink = Rows()
            op(sink)
            got = sink.rows
        assert got == [("checkpoint", v.name, v.text, v.owner) for v in expected]
