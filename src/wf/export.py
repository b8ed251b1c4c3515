"""Export of one run: the self-contained JSON payload, as a file or a tarball with logs.

See docs/cli.md#wf-export.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from wf.files import open_private, open_regular_file
from wf.inspection import audit_event_dict, parse_json_text
from wf.storage import Store, TaskExecution, format_time, now_utc

FORMAT_VERSION = 1
EXPORT_FORMATS = ("json", "tar")


def export_payload(store: Store, run_id: str, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything stored about RUN_ID (a unique prefix is enough) as one JSON-ready object.

    Keys: format_version, exported_at, run, tags, tasks, dependencies, context_snapshots (oldest
    first), forensic_logs, audit_trail (event_data parsed when it is JSON) and dag (the parsed
    graph of the run's DAG cache, or None).
    """
    run = store.get_run(run_id)
    snapshots = store.list_context_snapshots(run_id=run.id)
    snapshots.sort(key=lambda s: (s.snapshot_time is None, s.snapshot_time, s.id))
    cache = store.get_dag_cache(run.id)
    return {
        "format_version": FORMAT_VERSION,
        "exported_at": format_time(now or now_utc()),
        "run": run.to_dict(),
        "tags": list(run.tags),
        "tasks": [te.to_dict() for te in store.list_task_executions(run_id=run.id)],
        "dependencies": [d.to_dict() for d in store.list_task_dependencies(run.id)],
        "context_snapshots": [s.to_dict() for s in snapshots],
        "forensic_logs": [f.to_dict() for f in store.list_forensic_logs(run_id=run.id)],
        "audit_trail": [audit_event_dict(e) for e in store.list_audit_trail(run_id=run.id)],
        "dag": None if cache is None else parse_json_text(cache.dag_json),
    }


def payload_json(payload: dict[str, Any]) -> str:
    """The payload pretty-printed, with a final newline."""
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def write_json(payload: dict[str, Any], path: Path) -> None:
    """Write the pretty-printed payload to PATH (0600, parents 0700)."""
    with open_private(path) as fh:
        fh.write(payload_json(payload).encode("utf-8"))


@dataclass(frozen=True)
class TarResult:
    """What ``write_tar`` put into the tarball."""

    path: Path
    tasks: int
    logs: int


def log_member_name(te: TaskExecution) -> str:
    """The tarball member of an attempt's log: ``logs/<node_id>/attempt_<n>.log``.

    The node ID is made a single safe path component (no ``/``, never ``.`` or ``..``), so a
    member name is never absolute and never climbs out, whatever the database says.
    """
    node = te.task_id.replace("/", "_").replace("\\", "_").replace("\0", "_")
    if node in ("", ".", ".."):
        node = node.replace(".", "_") or "_"
    return f"logs/{node}/attempt_{int(te.attempt)}.log"


def write_tar(
    payload: dict[str, Any],
    rows: list[TaskExecution],
    path: Path,
    run_log_dir: Path | None = None,
) -> TarResult:
    """Write a gzip tarball with ``run.json`` and the log of every attempt of ROWS that has one.

    Only logs inside RUN_LOG_DIR (``<logs>/<run_id>``) are packed, whatever a row's
    ``log_path`` says, and only regular files, opened without blocking and without following a
    symbolic link (a task may leave a FIFO or a link where its log was). A recorded log with no
    file is packed as an empty member (an attempt that printed nothing has no file); foreign or
    non-regular log files are skipped. The tarball and its members have mode 0600.
    """
    mtime = int(now_utc().timestamp())
    logs = 0
    seen: set[str] = set()
    root = os.path.realpath(run_log_dir) if run_log_dir is not None else None
    with open_private(path) as fh, tarfile.open(fileobj=fh, mode="w:gz") as tar:
        data = payload_json(payload).encode("utf-8")
        tar.addfile(_member("run.json", len(data), mtime), io.BytesIO(data))
        for te in rows:
            name = log_member_name(te)
            if not te.log_path or name in seen or not _inside(te.log_path, root):
                continue
            if _add_log(tar, Path(te.log_path), name, mtime):
                seen.add(name)
                logs += 1
    return TarResult(path=path, tasks=len(rows), logs=logs)


def _inside(log_path: str, root: str | None) -> bool:
    """Whether LOG_PATH, its directories' links resolved, is a file below ROOT."""
    if root is None:
        return True
    where = os.path.join(os.path.realpath(os.path.dirname(log_path)), os.path.basename(log_path))
    return where.startswith(root.rstrip(os.sep) + os.sep)


def _member(name: str, size: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _add_log(tar: tarfile.TarFile, log: Path, name: str, mtime: int) -> bool:
    try:
        fh = open_regular_file(log)
    except FileNotFoundError:  # the attempt printed nothing: an empty log
        tar.addfile(_member(name, 0, mtime), io.BytesIO(b""))
        return True
    except OSError:
        return False
    with fh:
        # A running attempt may still be appending: take the size seen now.
        tar.addfile(_member(name, os.fstat(fh.fileno()).st_size, mtime), fh)
    return True
