"""Schema, migrations, file modes and pragmas of the store (docs/storage.md)."""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import sys
from pathlib import Path

import pytest

from wf.storage import SchemaVersionError, Store, StoreError
from wf.storage.schema import LATEST_VERSION

EXPECTED_COLUMNS = {
    "runs": [
        "id", "workflow_name", "workflow_file", "status", "start_time", "end_time",
        "duration_ms", "total_tasks", "tasks_success", "tasks_failed", "tasks_skipped",
        "execution_mode", "max_parallel", "resume_count", "last_resume_time", "tags",
        "timeout_ms", "clean_env", "error_message", "failed_task", "owner_pid", "owner_host",
        "owner_started_at", "heartbeat_at", "created_at", "updated_at", "tasks_cached",
    ],
    "task_executions": [
        "id", "run_id", "task_id", "task_name", "command", "state", "working_dir", "log_path",
        "exit_code", "start_time", "end_time", "duration_ms", "attempt", "max_retries",
        "is_forensic", "is_matrix_expansion", "matrix_vars", "condition_expr",
        "condition_result", "error_message", "stack_trace", "fingerprint", "output_truncated",
        "pid", "created_at", "updated_at", "hostname",
    ],
    "context_snapshots": [
        "id", "run_id", "snapshot_time", "snapshot_type", "variable_name", "variable_value",
        "variable_type", "set_by_task", "set_at", "is_read_only", "created_at",
    ],
    "forensic_logs": [
        "id", "run_id", "task_id", "log_type", "log_data", "triggered_by", "trigger_reason",
        "created_at",
    ],
    "dag_cache": [
        "id", "run_id", "dag_json", "total_nodes", "total_levels", "has_parallel_tasks",
        "created_at",
    ],
    "task_dependencies": [
        "id", "run_id", "task_id", "depends_on_task_id", "dependency_satisfied", "satisfied_at",
    ],
    "audit_trail": ["id", "run_id", "event_type", "event_data", "created_at"],
    "schema_version": ["version", "applied_at"],
    # Migration 2 (docs/caching.md).
    "task_cache": [
        "workflow_name", "node_id", "cache_key", "command_digest", "read_variables",
        "input_manifest", "output_manifest", "variables", "run_id", "created_at", "identities",
    ],
    "file_hashes": ["path", "size", "mtime_ns", "ctime_ns", "inode", "sha256"],
    "task_cache_hits": [
        "id", "run_id", "task_id", "task_name", "cache_key", "source_run_id", "fingerprint",
        "created_at",
    ],
}  # fmt: skip

EXPECTED_INDEXES = {
    ("runs", ("status",)),
    ("runs", ("workflow_name",)),
    ("runs", ("start_time",)),
    ("runs", ("tags",)),
    ("task_executions", ("run_id",)),
    ("task_executions", ("run_id", "state")),
    ("task_executions", ("task_id",)),
    ("context_snapshots", ("run_id", "snapshot_time")),
    ("context_snapshots", ("run_id", "variable_name")),
    ("task_dependencies", ("run_id", "task_id")),
    ("audit_trail", ("run_id", "created_at")),
    ("dag_cache", ("run_id",)),
    ("task_cache", ("workflow_name", "node_id")),
    (
        "task_cache",
        (
            "workflow_name",
            "node_id",
            "cache_key",
            "command_digest",
            "read_variables",
            "variables",
            "run_id",
            "identities",
        ),
    ),
    ("task_cache_hits", ("run_id",)),
}

TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def raw(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def test_schema_has_every_table_and_column(store: Store, db_path: Path) -> None:
    conn = raw(db_path)
    for table, columns in EXPECTED_COLUMNS.items():
        found = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        assert found == columns, table


def test_schema_has_every_index(store: Store, db_path: Path) -> None:
    conn = raw(db_path)
    found = set()
    for table in EXPECTED_COLUMNS:
        for index in conn.execute(f"PRAGMA index_list({table})").fetchall():
            cols = tuple(r[2] for r in conn.execute(f"PRAGMA index_info('{index[1]}')"))
            found.add((table, cols))
    assert found >= EXPECTED_INDEXES


def test_schema_has_the_triggers_of_section_5_4(store: Store, db_path: Path) -> None:
    rows = raw(db_path).execute("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
    triggers = {(table, sql.split()[2]) for table, sql in rows}
    tables = {t for t, _ in triggers}
    assert tables == {"runs", "task_executions", "audit_trail", "task_cache_hits"}
    assert len(triggers) == 7


def test_foreign_keys_cascade_except_audit_trail(store: Store, db_path: Path) -> None:
    conn = raw(db_path)
    for table in EXPECTED_COLUMNS:
        for fk in conn.execute(f"PRAGMA foreign_key_list({table})"):
            assert (fk[2], fk[3], fk[4]) == ("runs", "run_id", "id")
            expected = "NO ACTION" if table == "audit_trail" else "CASCADE"
            assert fk[6] == expected, table


def test_check_constraints_reject_unknown_statuses_and_modes(store: Store, db_path: Path) -> None:
    conn = raw(db_path)
    base = "INSERT INTO runs (id, workflow_name, workflow_file, start_time, status, execution_mode)"
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(base + " VALUES ('r1', 'w', 'f', 't', 'bogus', 'sequential')")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(base + " VALUES ('r2', 'w', 'f', 't', 'running', 'turbo')")
    conn.execute(base + " VALUES ('r3', 'w', 'f', 't', 'running', 'work_stealing')")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO task_executions (run_id, task_id, task_name, command, state) "
            "VALUES ('r3', 'a', 'a', 'true', 'done')"
        )


def test_defaults_and_trigger_times_use_the_fixed_width_format(store: Store, db_path: Path) -> None:
    conn = raw(db_path)
    conn.execute(
        "INSERT INTO runs (id, workflow_name, workflow_file, start_time) "
        "VALUES ('r', 'w', 'f', 't')"
    )
    conn.execute("INSERT INTO audit_trail (run_id, event_type, event_data) VALUES ('r', 'e', '{}')")
    conn.execute(
        "INSERT INTO task_executions (run_id, task_id, task_name, command, state) "
        "VALUES ('r', 'a', 'a', 'true', 'success')"
    )
    conn.execute("UPDATE runs SET total_tasks = 3 WHERE id = 'r'")
    times = conn.execute(
        "SELECT created_at, updated_at FROM runs UNION ALL "
        "SELECT created_at, updated_at FROM task_executions UNION ALL "
        "SELECT created_at, created_at FROM audit_trail UNION ALL "
        "SELECT applied_at, applied_at FROM schema_version"
    ).fetchall()
    assert times
    for pair in times:
        for value in pair:
            assert TIME_RE.fullmatch(value), value


def test_every_update_moves_updated_at_forward_without_recursing(
    store: Store, db_path: Path
) -> None:
    conn = raw(db_path)
    conn.execute("PRAGMA recursive_triggers = ON")  # the trigger must not rely on it being off
    conn.execute(
        "INSERT INTO runs (id, workflow_name, workflow_file, start_time, created_at, updated_at) "
        "VALUES ('r', 'w', 'f', 't', '2999-01-01T00:00:00.999999Z', '2999-01-01T00:00:00.999999Z')"
    )
    seen = ["2999-01-01T00:00:00.999999Z"]
    for n in range(3):
        conn.execute("UPDATE runs SET total_tasks = ? WHERE id = 'r'", (n,))
        seen.append(conn.execute("SELECT updated_at FROM runs").fetchone()[0])
    # The stored value is in the future, so each UPDATE bumps it by one microsecond.
    assert seen[1:] == [
        "2999-01-01T00:00:01.000000Z",
        "2999-01-01T00:00:01.000001Z",
        "2999-01-01T00:00:01.000002Z",
    ]


def test_reopening_is_idempotent_and_records_migration_once(db_path: Path) -> None:
    for _ in range(3):
        with Store(db_path) as s:
            assert s.schema_version() == LATEST_VERSION
    rows = raw(db_path).execute("SELECT version FROM schema_version").fetchall()
    assert rows == [(v,) for v in range(1, LATEST_VERSION + 1)]


def test_newer_schema_version_is_refused(db_path: Path) -> None:
    Store(db_path).close()
    raw(db_path).execute(
        "INSERT INTO schema_version VALUES (?, '2030-01-01T00:00:00.000000Z')",
        (LATEST_VERSION + 1,),
    )
    newer = rf"database schema version {LATEST_VERSION + 1} is newer than this"
    with pytest.raises(SchemaVersionError, match=newer):
        Store(db_path)
    assert issubclass(SchemaVersionError, StoreError)


def test_existing_empty_file_is_initialised(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    with Store(path) as s:
        assert s.quick_check() == ["ok"]
        assert s.schema_version() == LATEST_VERSION


def test_non_database_file_raises_store_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database at all" * 200)
    with pytest.raises(StoreError):
        Store(path)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_new_database_is_0600_in_a_0700_directory(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "deep" / "er" / "wf.db"
        with Store(path) as s:
            s.ping()
            wal = Path(str(path) + "-wal")
            assert wal.exists()
            assert stat.S_IMODE(wal.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE((tmp_path / "deep").stat().st_mode) == 0o700
    finally:
        os.umask(old)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_existing_file_keeps_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "wf.db"
    path.touch()
    path.chmod(0o640)
    Store(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_connection_uses_wal_and_the_spec_pragmas(store: Store) -> None:
    conn = store._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096
    assert conn.execute("PRAGMA cache_size").fetchone()[0] == -16384


def test_closed_store_raises_store_error(db_path: Path) -> None:
    s = Store(db_path)
    s.close()
    s.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        s.ping()


def test_in_memory_store_works_for_tooling() -> None:
    with Store(":memory:") as s:
        s.ping()
        assert s.schema_version() == LATEST_VERSION
