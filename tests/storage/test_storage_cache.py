"""Migration 2 and the cache tables of incremental runs (docs/caching.md)."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from wf.storage import Run, Store
from wf.storage.cache import CacheHit, CacheRecord
from wf.storage.schema import LATEST_VERSION

#: A database written by version 1 of wf (before migration 2): three runs of two workflows,
#: with attempts, snapshots, audit entries, graphs and dependencies.
V1_DATABASE = Path(__file__).parent / "fixtures" / "wf-v1.db"
V1_TABLES = (
    "runs",
    "task_executions",
    "context_snapshots",
    "forensic_logs",
    "dag_cache",
    "task_dependencies",
    "audit_trail",
)

NewRun = Callable[..., Run]


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in V1_TABLES}
    finally:
        conn.close()


def test_migrations_keep_every_row_of_a_version_1_database(tmp_path: Path) -> None:
    """Migrations 2 (the cache), 3 (the attempt's host) and 4 (the cache's identity digest)
    on a database made by version 1."""
    path = tmp_path / "wf.db"
    shutil.copy(V1_DATABASE, path)
    before = dump(path)
    assert sqlite3.connect(path).execute("SELECT MAX(version) FROM schema_version").fetchone() == (
        1,
    )
    assert len(before["runs"]) == 3
    assert len(before["task_executions"]) == 7
    with Store(path) as store:
        assert store.schema_version() == LATEST_VERSION == 4
        assert store.quick_check() == ["ok"]
        runs = store.list_runs()
        assert {r.workflow_name for r in runs} == {"demo", "bad"}
        assert all(r.tasks_cached == 0 for r in runs)
        assert [r.status for r in runs].count("success") == 2
        assert store.cache_stats()["records"] == 0
    after = dump(path)
    for table in V1_TABLES:
        if table == "runs":  # one more column, every old value intact
            assert [row[:-1] for row in after[table]] == before[table]
            assert all(row[-1] == 0 for row in after[table])
        elif table == "task_executions":  # hostname added, NULL: these ran on this machine
            assert [row[:-1] for row in after[table]] == before[table]
            assert all(row[-1] is None for row in after[table])
        else:
            assert after[table] == before[table], table
    with Store(path) as store:  # reopening is idempotent
        assert store.schema_version() == LATEST_VERSION


def test_the_migrated_database_keeps_working(tmp_path: Path) -> None:
    path = tmp_path / "wf.db"
    shutil.copy(V1_DATABASE, path)
    with Store(path) as store:
        run = store.get_run(store.list_runs()[0].id)
        store.create_cache_hit(CacheHit(run.id, "a", "a", "v1:k", "src"))
        assert store.get_run(run.id).tasks_cached == 1
        failed = next(r for r in store.list_runs() if r.workflow_name == "bad")
        assert store.list_task_executions(run_id=failed.id)[0].error_message == ("exit status 2")


def record(node: str = "build", workflow: str = "demo", key: str = "v1:one") -> CacheRecord:
    return CacheRecord(
        workflow_name=workflow,
        node_id=node,
        cache_key=key,
        command_digest="c" * 64,
        read_variables={"region": "eu"},
        input_manifest={"src/a.c": [3, "h" * 64, [3, 1, 2, 3]]},
        output_manifest={"out/app": [6, "o" * 64, None]},
        variables=[{"name": "version", "value": "1.2", "type": "string"}],
        run_id="run-1",
    )


def test_a_record_round_trips_and_a_success_replaces_it(store: Store) -> None:
    store.put_cache_record(record())
    got = store.cache_records("demo")["build"]
    assert got.to_dict() | {"created_at": None} == record().to_dict()
    assert got.created_at is not None
    store.put_cache_record(record(key="v1:two"))
    records = store.cache_records("demo")
    assert list(records) == ["build"]
    assert records["build"].cache_key == "v1:two"
    assert store.cache_records("other") == {}


def test_heads_and_single_records_read_without_the_other_nodes(store: Store) -> None:
    store.put_cache_record(record("a"))
    full = record("b")
    full.identities = "i" * 64
    store.put_cache_record(full)
    store.put_cache_record(record("a", workflow="other"))
    heads = store.cache_heads("demo")
    assert sorted(heads) == ["a", "b"]
    assert heads["b"] == full.head()
    assert heads["a"].identities is None
    assert heads["b"].read_variables == {"region": "eu"}
    assert heads["b"].variables == [{"name": "version", "value": "1.2", "type": "string"}]
    got = store.cache_record("demo", "b")
    assert got is not None
    assert got.input_manifest == full.input_manifest
    assert got.identities == "i" * 64
    assert store.cache_record("demo", "missing") is None


def test_clear_one_workflow_or_everything(store: Store) -> None:
    store.put_cache_record(record("a"))
    store.put_cache_record(record("b"))
    store.put_cache_record(record("a", workflow="other"))
    store.put_file_hashes([("/x", (1, 2, 3, 4), "d" * 64)])
    stats = store.cache_stats()
    assert (stats["records"], stats["workflows"], stats["file_hashes"]) == (3, 2, 1)
    assert stats["bytes"] > 0
    assert store.clear_cache("demo") == 2
    assert list(store.cache_records("other")) == ["a"]
    assert store.cache_stats()["file_hashes"] == 1
    assert store.clear_cache() == 1
    assert store.cache_stats() == {"records": 0, "workflows": 0, "file_hashes": 0, "bytes": 0}


def test_file_hashes_answer_only_for_the_same_identity(store: Store) -> None:
    store.put_file_hashes([("/src/a.c", (3, 10, 20, 99), "a" * 64)])
    assert store.file_hash("/src/a.c", (3, 10, 20, 99)) == "a" * 64
    assert store.file_hash("/src/a.c", (3, 10, 21, 99)) is None  # ctime moved: rewritten
    assert store.file_hash("/src/b.c", (3, 10, 20, 99)) is None
    store.put_file_hashes([("/src/a.c", (4, 11, 21, 99), "b" * 64)])
    assert store.file_hash("/src/a.c", (4, 11, 21, 99)) == "b" * 64


def test_hits_are_counted_on_the_run_and_listed_in_order(store: Store, new_run: NewRun) -> None:
    run = new_run()
    for node in ("b", "a"):
        store.create_cache_hit(CacheHit(run.id, node, node.upper(), "v1:k", "earlier"))
    assert store.get_run(run.id).tasks_cached == 2
    hits = store.list_cache_hits(run.id)
    assert [h.task_id for h in hits] == ["b", "a"]
    assert hits[0].to_dict()["state"] == "cached"
    assert hits[0].source_run_id == "earlier"


def test_concurrent_writers_never_leave_a_torn_record(db_path: Path) -> None:
    """Two processes' stores replace the same record at once; each record read is whole."""
    stores = [Store(db_path), Store(db_path)]
    errors: list[BaseException] = []

    def writer(store: Store, tag: str) -> None:
        try:
            for i in range(100):
                rec = record(key=f"v1:{tag}{i}")
                rec.input_manifest = {f"{tag}{i}.c": [i, tag * 64, None]}
                store.put_cache_record(rec)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=writer, args=(s, t)) for s, t in zip(stores, "xy", strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    got = stores[0].cache_records("demo")["build"]
    tag, i = got.cache_key[3], int(got.cache_key[4:])
    assert got.input_manifest == {f"{tag}{i}.c": [i, tag * 64, None]}
    for s in stores:
        s.close()


def test_a_refresh_updates_identities_but_never_a_newer_record(store: Store) -> None:
    store.put_cache_record(record(key="v1:one"))
    refreshed = record(key="v1:one")
    refreshed.output_manifest = {"out/app": [6, "o" * 64, [6, 1, 2, 3]]}
    refreshed.identities = "i" * 64
    assert store.refresh_cache_record(refreshed)
    assert store.cache_records("demo")["build"].output_manifest == refreshed.output_manifest
    assert store.cache_heads("demo")["build"].identities == "i" * 64
    store.put_cache_record(record(key="v1:two"))  # a newer success meanwhile
    assert not store.refresh_cache_record(refreshed)
    assert store.cache_records("demo")["build"].cache_key == "v1:two"


def test_heads_are_read_from_the_index_without_the_manifests(store: Store, db_path: Path) -> None:
    from wf.storage.cache import _HEAD_COLUMNS

    store.put_cache_record(record())
    plan = sqlite3.connect(db_path).execute(
        f"EXPLAIN QUERY PLAN SELECT {_HEAD_COLUMNS} FROM task_cache WHERE workflow_name = ?",
        ("demo",),
    )
    assert "COVERING INDEX idx_task_cache_heads" in " ".join(str(row[3]) for row in plan)
