"""Runs built from text resume from the source kept with them; default logs sit by the database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wf.cli import main
from wf.config import load_config
from wf.dag import DAG, Node, TaskDefinition, build_dag, parse_workflow_text
from wf.errors import ResumeError
from wf.executor import SequentialExecutor
from wf.executor.logdefault import default_logs_dir
from wf.storage import RunStatus, Store

FLAKY = """
[tasks.fetch]
cmd = "echo fetched"
register = "what"

[tasks.load]
cmd = 'test -e "$FLAG" && echo "loaded {{.what}}"'
env = { FLAG = "{{.flag}}" }
depends_on = ["fetch"]
"""


def test_a_run_built_from_text_keeps_its_source_and_resumes(store: Store, tmp_path: Path) -> None:
    flag = tmp_path / "ready"
    dag = build_dag(parse_workflow_text(FLAKY, name="flaky"))
    executor = SequentialExecutor(store, logs_dir=tmp_path / "logs")
    first = executor.execute(dag, runtime_vars={"flag": str(flag)})
    assert first.status is RunStatus.FAILED
    assert first.workflow_file == ""
    cache = store.get_dag_cache(first.id)
    assert cache is not None
    assert json.loads(cache.dag_json)["workflow_source"] == FLAKY
    flag.touch()
    again = executor.resume(first.id)
    assert again.status is RunStatus.SUCCESS
    assert [r.state for r in store.list_task_executions(run_id=first.id, task_id="fetch")] == [
        "success"
    ]


def test_wf_resume_finishes_a_text_built_run_too(tmp_path: Path, wf_home: Path) -> None:
    flag = tmp_path / "ready"
    config = load_config()
    with Store(config.database_path) as store:
        dag = build_dag(parse_workflow_text(FLAKY, name="flaky"))
        run = SequentialExecutor(store).execute(dag, runtime_vars={"flag": str(flag)})
    assert run.status is RunStatus.FAILED
    flag.touch()
    assert main(["resume", run.id, "--plain"]) == 0


def test_a_file_workflow_does_not_store_its_source(write_dag, store: Store) -> None:  # type: ignore[no-untyped-def]
    dag = write_dag('[tasks.a]\ncmd = "true"\n')
    run = SequentialExecutor(store).execute(dag)
    cache = store.get_dag_cache(run.id)
    assert cache is not None
    assert "workflow_source" not in json.loads(cache.dag_json)


def test_a_hand_built_dag_without_source_cannot_resume(store: Store, tmp_path: Path) -> None:
    task = TaskDefinition(id="a", cmd="false")
    dag = DAG(name="manual", nodes={"a": Node(id="a", task=task)}, levels=[["a"]], total_tasks=1)
    executor = SequentialExecutor(store, logs_dir=tmp_path / "logs")
    run = executor.execute(dag)
    assert run.status is RunStatus.FAILED
    with pytest.raises(ResumeError, match="has no workflow file and no stored workflow source"):
        executor.resume(run.id)


def test_executors_default_their_logs_next_to_their_database(tmp_path: Path) -> None:
    with Store(tmp_path / "project" / "runs.db") as store:
        executor = SequentialExecutor(store)
        assert executor.settings.logs_dir == tmp_path / "project" / "logs"
        run = executor.execute(
            build_dag(parse_workflow_text('[tasks.a]\ncmd = "echo hi"\n', name="x"))
        )
        assert (
            tmp_path / "project" / "logs" / run.id / "a" / "attempt_1.log"
        ).read_text() == "hi\n"
    config = load_config()
    with Store(config.database_path) as store:
        assert default_logs_dir(store) == config.logs_dir
    with Store(":memory:") as store:
        assert default_logs_dir(store) == config.logs_dir
