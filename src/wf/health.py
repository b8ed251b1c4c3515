"""System health checks behind ``wf health``: database, runs, workflows, logs.

See docs/cli.md#wf-health.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wf.errors import WfError

if TYPE_CHECKING:
    from wf.config import Config
    from wf.storage import Store

#: A running run whose heartbeat is older than this many minutes is stale.
STALE_MINUTES = 30
#: The window of the success rate, in days.
SUCCESS_RATE_DAYS = 7


@dataclass(frozen=True)
class WorkflowProblem:
    """An invalid workflow file and its errors."""

    workflow: str
    """The file name in the workflows directory, e.g. ``nightly.toml``."""
    errors: list[str]

    def to_dict(self) -> dict[str, Any]:
        """``{workflow, errors}``."""
        return {"workflow": self.workflow, "errors": list(self.errors)}


@dataclass
class HealthReport:
    """The result of every check; ``to_dict()`` has the keys of docs/json.md#wf-health---json."""

    database_ok: bool
    database_path: str
    database_size_bytes: int = 0
    schema_version: int = 0
    stale_runs: int = 0
    interrupted_runs: int = 0
    workflows_total: int = 0
    workflows_valid: int = 0
    workflow_errors: list[WorkflowProblem] = field(default_factory=list)
    log_disk_bytes: int = 0
    success_rate_7d: float = -1.0
    """success ÷ finished runs of the last 7 days; −1.0 when there are none."""
    database_error: str | None = None
    """Why the database check failed (text output only)."""
    cache_records: int = 0
    """Cache records of incremental runs (docs/caching.md), their workflows and stored size."""
    cache_workflows: int = 0
    cache_bytes: int = 0
    cache_file_hashes: int = 0

    @property
    def healthy(self) -> bool:
        """The database is ok, every workflow is valid, and no run is stale."""
        return (
            self.database_ok
            and self.workflows_valid == self.workflows_total
            and self.stale_runs == 0
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``wf health --json``."""
        return {
            "database_ok": self.database_ok,
            "database_path": self.database_path,
            "database_size_bytes": self.database_size_bytes,
            "schema_version": self.schema_version,
            "stale_runs": self.stale_runs,
            "interrupted_runs": self.interrupted_runs,
            "workflows_total": self.workflows_total,
            "workflows_valid": self.workflows_valid,
            "workflow_errors": [w.to_dict() for w in self.workflow_errors],
            "log_disk_bytes": self.log_disk_bytes,
            "success_rate_7d": self.success_rate_7d,
            "cache": {
                "records": self.cache_records,
                "workflows": self.cache_workflows,
                "bytes": self.cache_bytes,
                "file_hashes": self.cache_file_hashes,
            },
            "healthy": self.healthy,
        }


def check_health(
    config: Config, store: Store | None = None, *, read_only: bool = False
) -> HealthReport:
    """Run every check against CONFIG's paths.

    STORE is the already opened database; when None, the database is opened here (and closed
    again), and a failure to open it is reported rather than raised. READ_ONLY opens it with
    ``mode=ro``: a missing database is then reported, never created (the web UI's way).
    """
    report = HealthReport(database_ok=False, database_path=str(config.database_path))
    owned = store is None
    try:
        if store is None:
            from wf.storage import Store

            store = Store(config.database_path, read_only=read_only)
        _check_database(store, report)
    except WfError as exc:
        report.database_ok = False
        report.database_error = str(exc)
    finally:
        if owned and store is not None:
            store.close()
    _check_workflows(config.workflows_dir, report, config.pools)
    report.log_disk_bytes = directory_size(config.logs_dir)
    return report


def _check_database(store: Store, report: HealthReport) -> None:
    problems = store.quick_check()
    report.database_ok = problems == ["ok"]
    if not report.database_ok:
        report.database_error = "; ".join(problems[:3]) or "quick_check returned nothing"
    report.database_size_bytes = store.db_size_bytes()
    report.schema_version = store.schema_version()
    report.stale_runs = store.stale_run_count(STALE_MINUTES)
    report.interrupted_runs = store.count_runs(status="interrupted")
    report.success_rate_7d = store.run_success_rate(SUCCESS_RATE_DAYS)
    cache = store.cache_stats()
    report.cache_records = cache["records"]
    report.cache_workflows = cache["workflows"]
    report.cache_bytes = cache["bytes"]
    report.cache_file_hashes = cache["file_hashes"]


def _check_workflows(
    workflows_dir: Path, report: HealthReport, pools: dict[str, int] | None = None
) -> None:
    from wf.validation import validate_workflow, workflow_files

    for path in workflow_files(workflows_dir):
        report.workflows_total += 1
        try:
            result = validate_workflow(path, pools=pools)
        except WfError as exc:  # e.g. removed while we were looking
            report.workflow_errors.append(WorkflowProblem(path.name, [str(exc)]))
            continue
        if result.valid:
            report.workflows_valid += 1
        else:
            report.workflow_errors.append(WorkflowProblem(path.name, list(result.errors)))


def directory_size(path: str | os.PathLike[str]) -> int:
    """Total size of the regular files under PATH, without following symlinks; 0 if missing."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
    return total
