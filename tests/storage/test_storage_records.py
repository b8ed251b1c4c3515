"""Snapshots, the append-only audit trail, forensic logs, the DAG cache and dependency edges."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from wf.storage import (
    ContextSnapshot,
    DAGCache,
    ForensicLog,
    Run,
    RunNotFoundError,
    Store,
    StoreError,
    TaskDependency,
)

NewRun = Callable[..., Run]

T0 = datetime(2026, 3, 13, 9, 0, 0, tzinfo=UTC)


def snap(run_id: str, name: str, value: str, seconds: float, **fields: object) -> ContextSnapshot:
    return ContextSnapshot(
        run_id=run_id,
        snapshot_time=T0 + timedelta(seconds=seconds),
        variable_name=name,
        variable_value=value,
        set_by_task=str(fields.pop("set_by_task", "a")),
        set_at=T0,
        **fields,  # type: ignore[arg-type]
    )


# -- context snapshots -----------------------------------------------------------------------


def test_snapshots_are_written_together_and_listed_newest_first(
    store: Store, new_run: NewRun
) -> None:
    run = new_run()
    rows = [snap(run.id, "x", "1", 0), snap(run.id, "y", "2", 0), snap(run.id, "x", "3", 5)]
    assert store.create_context_snapshots(rows) == 3
    listed = store.list_context_snapshots(run_id=run.id)
    assert [(s.variable_name, s.variable_value) for s in listed] == [
        ("x", "3"),
        ("y", "2"),
        ("x", "1"),
    ]
    assert [s.variable_value for s in store.list_context_snapshots(variable_name="x")] == [
        "3",
        "1",
    ]
    assert store.create_context_snapshots([]) == 0


def test_snapshot_batch_is_atomic(store: Store, new_run: NewRun) -> None:
    run = new_run()
    bad = snap(run.id, "z", "1", 0, variable_type="complex")
    with pytest.raises(StoreError):
        store.create_context_snapshots([snap(run.id, "x", "1", 0), bad])
    assert store.list_context_snapshots(run_id=run.id) == []


def test_latest_variables_take_the_newest_row_by_time_then_id(
    store: Store, new_run: NewRun
) -> None:
    run = new_run()
    store.create_context_snapshots(
        [
            snap(run.id, "b", "old", 0),
            snap(run.id, "a", "first", 10, variable_type="int", is_read_only=True),
            snap(run.id, "a", "second", 10, variable_type="int", set_by_task="__runtime__"),
            snap(run.id, "b", "new", 3, snapshot_type="final"),
            snap(run.id, "b", "older", 1),
        ]
    )
    latest = store.latest_variables(run.id)
    assert [(s.variable_name, s.variable_value) for s in latest] == [("a", "second"), ("b", "new")]
    assert latest[0].variable_type == "int"
    assert latest[0].set_by_task == "__runtime__"
    assert [s.variable_value for s in store.list_context_snapshots(snapshot_type="final")] == [
        "new"
    ]


# -- audit trail -----------------------------------------------------------------------------


def test_audit_entries_read_back_in_insertion_order_byte_for_byte(
    store: Store, new_run: NewRun
) -> None:
    run = new_run()
    payloads = ['{"b": 1,  "a": 2}', "not json at all", '{"emoji": "✓"}', ""]
    for n, data in enumerate(payloads):
        store.create_audit_entry(run.id, f"event{n % 2}", data)
    entries = store.list_audit_trail(run_id=run.id)
    assert [e.event_data for e in entries] == payloads
    assert [e.id for e in entries] == sorted(e.id for e in entries)
    assert [e.event_data for e in store.list_audit_trail(event_type="event1")] == payloads[1::2]


def test_audit_mapping_data_is_stored_as_compact_json(store: Store, new_run: NewRun) -> None:
    run = new_run()
    store.create_audit_entry(run.id, "task_succeeded", {"task_id": "a", "attempt": 1})
    (entry,) = store.list_audit_trail(run_id=run.id)
    assert entry.event_data == '{"task_id":"a","attempt":1}'
    assert entry.to_dict()["event_data"] == entry.event_data


def test_audit_update_and_delete_are_refused_by_sqlite(
    store: Store, new_run: NewRun, db_path: Path
) -> None:
    run = new_run()
    store.create_audit_entry(run.id, "run_started", "{}")
    conn = sqlite3.connect(db_path, isolation_level=None)
    with pytest.raises(sqlite3.DatabaseError, match="audit_trail is append-only"):
        conn.execute("UPDATE audit_trail SET event_data = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="audit_trail is append-only"):
        conn.execute("DELETE FROM audit_trail")
    assert store.list_audit_trail()[0].event_data == "{}"


def test_run_with_audit_entries_cannot_be_deleted(store: Store, new_run: NewRun) -> None:
    run = new_run()
    store.create_audit_entry(run.id, "run_started", "{}")
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        store._conn.execute("DELETE FROM runs WHERE id = ?", (run.id,))
    assert store.get_run(run.id).id == run.id


def test_audit_entry_for_unknown_run_is_refused(store: Store) -> None:
    with pytest.raises(StoreError):
        store.create_audit_entry("missing", "run_started", "{}")


# -- forensic logs ---------------------------------------------------------------------------


def test_forensic_logs_accept_an_object_or_fields(store: Store, new_run: NewRun) -> None:
    run = new_run()
    first = store.create_forensic_log(
        ForensicLog(run_id=run.id, task_id="a", log_type="timeout", log_data="timed out")
    )
    second = store.create_forensic_log(
        run.id, "trap_output", "trap ran", triggered_by="a", trigger_reason="exit status 1"
    )
    logs = store.list_forensic_logs(run_id=run.id)
    assert [log.id for log in logs] == [first, second]
    assert logs[1].task_id is None
    assert (logs[1].triggered_by, logs[1].trigger_reason) == ("a", "exit status 1")
    assert logs[0].to_dict()["log_type"] == "timeout"
    with pytest.raises(TypeError):
        store.create_forensic_log(run.id)
    with pytest.raises(StoreError):
        store.create_forensic_log(run.id, "unknown_type", "x")


# -- DAG cache -------------------------------------------------------------------------------


def test_dag_cache_is_upserted_on_run_id(store: Store, new_run: NewRun) -> None:
    run = new_run()
    assert store.get_dag_cache(run.id) is None
    store.upsert_dag_cache(run.id, '{"name":"v1"}', total_nodes=3, total_levels=2)
    store.upsert_dag_cache(
        DAGCache(
            run_id=run.id,
            dag_json='{"name":"v2"}',
            total_nodes=5,
            total_levels=3,
            has_parallel_tasks=True,
        )
    )
    cache = store.get_dag_cache(run.id)
    assert cache is not None
    assert (cache.dag_json, cache.total_nodes, cache.total_levels) == ('{"name":"v2"}', 5, 3)
    assert cache.has_parallel_tasks is True
    rows = store._conn.execute("SELECT COUNT(*) FROM dag_cache").fetchone()[0]
    assert rows == 1
    with pytest.raises(RunNotFoundError):
        store.get_dag_cache("missing")


# -- task dependencies -----------------------------------------------------------------------


def test_dependencies_are_replaced_and_marked_satisfied(store: Store, new_run: NewRun) -> None:
    run = new_run()
    store.replace_task_dependencies(run.id, [("b", "a"), ("c", "a"), ("c", "b")])
    assert store.replace_task_dependencies(run.id, [("b", "a"), ("c", "a"), ("c", "b")]) == 3
    edges = store.list_task_dependencies(run.id)
    assert [(e.task_id, e.depends_on_task_id) for e in edges] == [
        ("b", "a"),
        ("c", "a"),
        ("c", "b"),
    ]
    assert not any(e.dependency_satisfied for e in edges)

    assert store.mark_dependency_satisfied(run.id, "c", "a", now=T0) == 1
    assert store.mark_dependency_satisfied(run.id, "c") == 1  # only the remaining edge
    assert store.mark_dependency_satisfied(run.id, "c") == 0
    by_edge = {(e.task_id, e.depends_on_task_id): e for e in store.list_task_dependencies(run.id)}
    assert by_edge[("c", "a")].satisfied_at == T0
    assert by_edge[("c", "b")].dependency_satisfied
    assert not by_edge[("b", "a")].dependency_satisfied


def test_dependencies_accept_rows_and_an_empty_replacement(store: Store, new_run: NewRun) -> None:
    run = new_run()
    store.replace_task_dependencies(
        run.id,
        [TaskDependency(task_id="b", depends_on_task_id="a", dependency_satisfied=True,
                        satisfied_at=T0)],
    )  # fmt: skip
    (edge,) = store.list_task_dependencies(run.id)
    assert edge.dependency_satisfied
    assert edge.satisfied_at == T0
    assert edge.to_dict()["satisfied_at"] == "2026-03-13T09:00:00.000000Z"
    store.replace_task_dependencies(run.id, [])
    assert store.list_task_dependencies(run.id) == []
