"""The DAG of a stored run, for resume: from its workflow file, or from the source kept with it.

A run built from text (``parse_workflow_text`` → ``build_dag`` → ``execute``) has no workflow
file; its TOML source is stored in its DAG cache row (``workflow_source``) instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from wf.dag import DAG, build_dag, load_dag, parse_workflow_text
from wf.errors import ResumeError
from wf.storage import Run, Store

__all__ = ["load_run_dag"]


def load_run_dag(store: Store, run: Run, *, pools: Mapping[str, int] | None = None) -> DAG:
    """Load RUN's workflow again; raise ResumeError when there is nothing to load it from."""
    if run.workflow_file:
        # The stored absolute path is loaded as a path: a file that is gone is
        # "workflow not found: PATH", never a workflow-name error.
        return load_dag(Path(run.workflow_file), pools=pools)
    cache = store.get_dag_cache(run.id)
    source = ""
    if cache is not None:
        try:
            stored = json.loads(cache.dag_json).get("workflow_source")
        except (ValueError, AttributeError):
            stored = None
        source = stored if isinstance(stored, str) else ""
    if not source:
        raise ResumeError(
            f"run {run.id} has no workflow file and no stored workflow source, so it cannot "
            "be resumed (it was built from a DAG that was neither loaded from a file nor "
            "parsed from text)"
        )
    return build_dag(parse_workflow_text(source, name=run.workflow_name, pools=pools))
