"""The SQLite schema (docs/storage.md) as forward-only migrations, and the migration runner."""

from __future__ import annotations

import sqlite3

from wf.storage.errors import SchemaVersionError

#: The current time in the stored form. SQLite's clock has millisecond resolution, so the last
#: three of the six fractional digits are always 0; the width stays fixed
#: (docs/storage.md#run-ids-and-times).
NOW_SQL = "strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')"


def next_time_sql(previous: str, now: str = NOW_SQL) -> str:
    """SQL for a stored time strictly later than PREVIOUS: NOW (an SQL expression, by default
    the SQLite clock), or PREVIOUS + 1 µs when NOW is not later (same microsecond, clock step
    back). Strictly increasing ``updated_at`` values make every UPDATE visible, and stop the
    ``updated_at`` triggers from ever re-firing themselves."""
    micros = (
        f"(CAST(strftime('%s', substr({previous}, 1, 19)) AS INTEGER) * 1000000"
        f" + CAST(substr({previous}, 21, 6) AS INTEGER) + 1)"
    )
    bumped = (
        f"strftime('%Y-%m-%dT%H:%M:%S', {micros} / 1000000, 'unixepoch')"
        f" || '.' || printf('%06d', {micros} % 1000000) || 'Z'"
    )
    return f"COALESCE(CASE WHEN {now} > {previous} THEN {now} ELSE {bumped} END, {now})"


def sql_list(*values: str) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


_RUN_STATUSES = sql_list(
    "pending", "running", "success", "failed", "cancelled", "resuming", "interrupted"
)
_TASK_STATES = sql_list("pending", "ready", "running", "success", "failed", "skipped", "cancelled")
_MODES = sql_list("sequential", "parallel", "work_stealing")
_COUNTED = sql_list("success", "failed", "skipped")
_NOW_DEFAULT = f"DEFAULT ({NOW_SQL})"
_CASCADE = "REFERENCES runs(id) ON DELETE CASCADE"


def _bool(column: str) -> str:
    return f"{column} INTEGER NOT NULL DEFAULT 0 CHECK ({column} IN (0, 1))"


def _counter_trigger(name: str, event: str, when: str) -> str:
    return f"""
CREATE TRIGGER {name} AFTER {event} ON task_executions
FOR EACH ROW WHEN NEW.is_forensic = 0 AND NEW.state IN {_COUNTED}{when}
BEGIN
    UPDATE runs SET
        tasks_success = tasks_success + (NEW.state = 'success'),
        tasks_failed = tasks_failed + (NEW.state = 'failed'),
        tasks_skipped = tasks_skipped + (NEW.state = 'skipped'),
        updated_at = {next_time_sql("updated_at", "NEW.updated_at")}
    WHERE id = NEW.run_id;
END"""


def _touch_trigger(table: str) -> str:
    # Fires only when the UPDATE left updated_at alone; its own UPDATE changes updated_at, so it
    # never fires itself again, whatever the recursive_triggers setting.
    return f"""
CREATE TRIGGER {table}_touch_updated_at AFTER UPDATE ON {table}
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE {table} SET updated_at = {next_time_sql("OLD.updated_at")} WHERE rowid = NEW.rowid;
END"""


def _append_only_trigger(event: str) -> str:
    return f"""
CREATE TRIGGER audit_trail_no_{event.lower()} BEFORE {event} ON audit_trail
BEGIN
    SELECT RAISE(ABORT, 'audit_trail is append-only');
END"""


MIGRATION_1: tuple[str, ...] = (
    f"""
CREATE TABLE runs (
    id TEXT PRIMARY KEY NOT NULL,
    workflow_name TEXT NOT NULL,
    workflow_file TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN {_RUN_STATUSES}),
    start_time TEXT NOT NULL,
    end_time TEXT,
    duration_ms INTEGER,
    total_tasks INTEGER NOT NULL DEFAULT 0,
    tasks_success INTEGER NOT NULL DEFAULT 0,
    tasks_failed INTEGER NOT NULL DEFAULT 0,
    tasks_skipped INTEGER NOT NULL DEFAULT 0,
    execution_mode TEXT NOT NULL DEFAULT 'sequential' CHECK (execution_mode IN {_MODES}),
    max_parallel INTEGER NOT NULL DEFAULT 1,
    resume_count INTEGER NOT NULL DEFAULT 0,
    last_resume_time TEXT,
    tags TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags) AND json_type(tags) = 'array'),
    timeout_ms INTEGER NOT NULL DEFAULT 0,
    {_bool("clean_env")},
    error_message TEXT,
    failed_task TEXT,
    owner_pid INTEGER,
    owner_host TEXT,
    owner_started_at TEXT,
    heartbeat_at TEXT,
    created_at TEXT NOT NULL {_NOW_DEFAULT},
    updated_at TEXT NOT NULL {_NOW_DEFAULT}
)""",
    "CREATE INDEX idx_runs_status ON runs(status)",
    "CREATE INDEX idx_runs_workflow_name ON runs(workflow_name)",
    "CREATE INDEX idx_runs_start_time ON runs(start_time)",
    "CREATE INDEX idx_runs_tags ON runs(tags)",
    f"""
CREATE TABLE task_executions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL {_CASCADE},
    task_id TEXT NOT NULL,
    task_name TEXT NOT NULL,
    command TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN {_TASK_STATES}),
    working_dir TEXT,
    log_path TEXT,
    exit_code INTEGER,
    start_time TEXT,
    end_time TEXT,
    duration_ms INTEGER,
    attempt INTEGER NOT NULL DEFAULT 1,
    max_retries INTEGER NOT NULL DEFAULT 0,
    {_bool("is_forensic")},
    {_bool("is_matrix_expansion")},
    matrix_vars TEXT CHECK (matrix_vars IS NULL OR json_valid(matrix_vars)),
    condition_expr TEXT,
    condition_result INTEGER CHECK (condition_result IN (0, 1)),
    error_message TEXT,
    stack_trace TEXT,
    fingerprint TEXT,
    output_truncated INTEGER NOT NULL DEFAULT 0,
    pid INTEGER,
    created_at TEXT NOT NULL {_NOW_DEFAULT},
    updated_at TEXT NOT NULL {_NOW_DEFAULT}
)""",
    "CREATE INDEX idx_task_executions_run_id ON task_executions(run_id)",
    "CREATE INDEX idx_task_executions_run_state ON task_executions(run_id, state)",
    "CREATE INDEX idx_task_executions_task_id ON task_executions(task_id)",
    f"""
CREATE TABLE context_snapshots (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL {_CASCADE},
    snapshot_time TEXT NOT NULL,
    snapshot_type TEXT NOT NULL CHECK (snapshot_type IN ('checkpoint', 'final', 'crash')),
    variable_name TEXT NOT NULL,
    variable_value TEXT NOT NULL,
    variable_type TEXT NOT NULL CHECK (variable_type IN ('string', 'int', 'float', 'bool')),
    set_by_task TEXT NOT NULL,
    set_at TEXT NOT NULL,
    {_bool("is_read_only")},
    created_at TEXT NOT NULL {_NOW_DEFAULT}
)""",
    "CREATE INDEX idx_context_snapshots_run_time ON context_snapshots(run_id, snapshot_time)",
    "CREATE INDEX idx_context_snapshots_run_variable ON context_snapshots(run_id, variable_name)",
    f"""
CREATE TABLE forensic_logs (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL {_CASCADE},
    task_id TEXT,
    log_type TEXT NOT NULL CHECK (log_type IN
        ('trap_output', 'crash_dump', 'timeout', 'cancellation', 'system_snapshot')),
    log_data TEXT NOT NULL,
    triggered_by TEXT,
    trigger_reason TEXT,
    created_at TEXT NOT NULL {_NOW_DEFAULT}
)""",
    "CREATE INDEX idx_forensic_logs_run_id ON forensic_logs(run_id)",
    f"""
CREATE TABLE dag_cache (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL UNIQUE {_CASCADE},
    dag_json TEXT NOT NULL,
    total_nodes INTEGER,
    total_levels INTEGER,
    {_bool("has_parallel_tasks")},
    created_at TEXT NOT NULL {_NOW_DEFAULT}
)""",
    f"""
CREATE TABLE task_dependencies (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL {_CASCADE},
    task_id TEXT NOT NULL,
    depends_on_task_id TEXT NOT NULL,
    {_bool("dependency_satisfied")},
    satisfied_at TEXT
)""",
    "CREATE INDEX idx_task_dependencies_run_task ON task_dependencies(run_id, task_id)",
    f"""
CREATE TABLE audit_trail (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(id),
    event_type TEXT NOT NULL,
    event_data TEXT NOT NULL,
    created_at TEXT NOT NULL {_NOW_DEFAULT}
)""",
    "CREATE INDEX idx_audit_trail_run_created ON audit_trail(run_id, created_at)",
    _touch_trigger("runs"),
    _touch_trigger("task_executions"),
    _counter_trigger("task_executions_count_insert", "INSERT", ""),
    _counter_trigger(
        "task_executions_count_update", "UPDATE OF state", " AND NEW.state IS NOT OLD.state"
    ),
    _append_only_trigger("UPDATE"),
    _append_only_trigger("DELETE"),
)

#: Incremental runs (docs/caching.md): the cache records, the content-hash cache, and the
#: per-run record of nodes that were up to date (``cached``: no attempt row), counted on the run.
MIGRATION_2: tuple[str, ...] = (
    "ALTER TABLE runs ADD COLUMN tasks_cached INTEGER NOT NULL DEFAULT 0",
    f"""
CREATE TABLE task_cache (
    workflow_name TEXT NOT NULL,
    node_id TEXT NOT NULL,
    cache_key TEXT NOT NULL,
    command_digest TEXT NOT NULL,
    read_variables TEXT NOT NULL DEFAULT '{{}}' CHECK (json_valid(read_variables)),
    input_manifest TEXT NOT NULL CHECK (json_valid(input_manifest)),
    output_manifest TEXT NOT NULL CHECK (json_valid(output_manifest)),
    variables TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(variables)),
    run_id TEXT NOT NULL,
    created_at TEXT NOT NULL {_NOW_DEFAULT},
    PRIMARY KEY (workflow_name, node_id)
) WITHOUT ROWID""",
    """
CREATE TABLE file_hashes (
    path TEXT PRIMARY KEY NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    sha256 TEXT NOT NULL
) WITHOUT ROWID""",
    f"""
CREATE TABLE task_cache_hits (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL {_CASCADE},
    task_id TEXT NOT NULL,
    task_name TEXT NOT NULL,
    cache_key TEXT NOT NULL,
    source_run_id TEXT NOT NULL,
    fingerprint TEXT,
    created_at TEXT NOT NULL {_NOW_DEFAULT}
)""",
    "CREATE INDEX idx_task_cache_hits_run_id ON task_cache_hits(run_id)",
    f"""
CREATE TRIGGER task_cache_hits_count AFTER INSERT ON task_cache_hits
FOR EACH ROW
BEGIN
    UPDATE runs SET
        tasks_cached = tasks_cached + 1,
        updated_at = {next_time_sql("updated_at", "NEW.created_at")}
    WHERE id = NEW.run_id;
END""",
)

#: Forward-only migrations: version -> statements. Each runs once, in its own transaction.
MIGRATIONS: dict[int, tuple[str, ...]] = {1: MIGRATION_1, 2: MIGRATION_2}
#: Where an attempt ran (docs/dask.md): the worker's address, NULL on this machine.
MIGRATION_TASK_HOST: tuple[str, ...] = ("ALTER TABLE task_executions ADD COLUMN hostname TEXT",)
MIGRATIONS[max(MIGRATIONS) + 1] = MIGRATION_TASK_HOST
#: The stat-only check of incremental runs (docs/caching.md): the record's identity digest,
#: and an index holding every column but the manifests, so that a run reads the records'
#: heads without reading their manifests.
MIGRATION_CACHE_IDENTITIES: tuple[str, ...] = (
    "ALTER TABLE task_cache ADD COLUMN identities TEXT",
    "CREATE INDEX idx_task_cache_heads ON task_cache(workflow_name, node_id, cache_key, "
    "command_digest, read_variables, variables, run_id, identities)",
)
MIGRATIONS[max(MIGRATIONS) + 1] = MIGRATION_CACHE_IDENTITIES
LATEST_VERSION = max(MIGRATIONS)

_CREATE_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
)


def current_version(conn: sqlite3.Connection) -> int:
    """The highest applied migration, 0 for an empty database."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if exists is None:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the pending migrations to CONN (autocommit mode) and return the schema version.

    Raises SchemaVersionError when the database is newer than this code. Safe against other
    processes migrating the same file at the same time: each step re-reads the version under
    the write lock.
    """
    version = current_version(conn)
    if version > LATEST_VERSION:
        raise SchemaVersionError(version)
    for target in sorted(MIGRATIONS):
        if target <= version:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(_CREATE_VERSION_TABLE)
            version = current_version(conn)
            if version > LATEST_VERSION:
                raise SchemaVersionError(version)
            if version < target:
                for statement in MIGRATIONS[target]:
                    conn.execute(statement)
                conn.execute(
                    f"INSERT INTO schema_version (version, applied_at) VALUES (?, {NOW_SQL})",
                    (target,),
                )
                version = target
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return version
