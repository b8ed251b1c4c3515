"""Runs: create, read, update, run-ID prefixes, listing order, filters and summaries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from wf.storage import (
    AmbiguousRunIdError,
    ExecutionMode,
    Run,
    RunNotFoundError,
    RunStatus,
    Store,
    StoreError,
)

NewRun = Callable[..., Run]

T0 = datetime(2026, 3, 13, 9, 0, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_create_run_assigns_id_start_time_and_roundtrips_every_field(store: Store) -> None:
    run = Run(
        workflow_name="etl",
        workflow_file="/w/etl.toml",
        status=RunStatus.RUNNING,
        total_tasks=4,
        execution_mode=ExecutionMode.WORK_STEALING,
        max_parallel=3,
        tags=["nightly", "prod"],
        timeout_ms=60_000,
        clean_env=True,
        owner_pid=123,
        owner_host="box",
        owner_started_at=at(-1),
        heartbeat_at=at(0),
    )
    run_id = store.create_run(run)
    assert run.id == run_id
    assert len(run_id) == 27
    got = store.get_run(run_id)
    assert got.start_time == run.start_time
    assert got.tags == ["nightly", "prod"]
    assert got.clean_env is True
    assert got.execution_mode is ExecutionMode.WORK_STEALING
    assert (got.owner_pid, got.owner_host, got.owner_started_at) == (123, "box", at(-1))
    assert got.heartbeat_at == at(0)
    assert (got.tasks_success, got.tasks_failed, got.tasks_skipped) == (0, 0, 0)
    assert got.created_at is not None
    assert got.updated_at is not None


def test_empty_tags_are_stored_as_json_empty_array(store: Store) -> None:
    run_id = store.create_run(Run(workflow_name="w", workflow_file="f", tags=[]))
    stored = store._conn.execute("SELECT tags FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
    assert stored == "[]"


def test_duplicate_run_id_raises_store_error(store: Store) -> None:
    store.create_run(Run(id="same", workflow_name="w", workflow_file="f"))
    with pytest.raises(StoreError):
        store.create_run(Run(id="same", workflow_name="w", workflow_file="f"))


def test_update_run_writes_fields_but_never_the_counters(store: Store, new_run: NewRun) -> None:
    run = new_run()
    run.status = RunStatus.FAILED
    run.end_time = run.start_time
    run.duration_ms = 1500
    run.error = "task a failed after 1 attempt(s): exit status 3"
    run.failed_task = "a"
    run.tasks_failed = 99  # ignored: only triggers write counters
    store.update_run(run)
    got = store.get_run(run.id)
    assert got.status is RunStatus.FAILED
    assert got.error == run.error
    assert got.failed_task == "a"
    assert got.duration_ms == 1500
    assert got.tasks_failed == 0
    assert got.updated_at is not None
    assert run.updated_at is not None
    assert got.updated_at > run.updated_at


def test_update_of_unknown_run_raises_run_not_found(store: Store) -> None:
    with pytest.raises(RunNotFoundError):
        store.update_run(Run(id="nope", workflow_name="w", workflow_file="f"))


def test_run_to_dict_has_the_inspect_keys(store: Store, new_run: NewRun) -> None:
    data = new_run(tags=["x"], error=None).to_dict()
    assert list(data) == [
        "id", "workflow_name", "workflow_file", "status", "start_time", "end_time",
        "duration_ms", "total_tasks", "tasks_success", "tasks_failed", "tasks_skipped",
        "tasks_cached", "execution_mode", "max_parallel", "resume_count", "last_resume_time",
        "tags", "timeout_ms", "clean_env", "error", "failed_task", "owner_pid", "owner_host",
        "owner_started_at", "heartbeat_at", "created_at", "updated_at",
    ]  # fmt: skip
    assert data["status"] == "running"
    assert data["tags"] == ["x"]
    assert isinstance(data["start_time"], str)
    assert data["start_time"].endswith("Z")
    assert len(data["start_time"]) == 27


# -- run-ID prefixes -------------------------------------------------------------------------


def add(store: Store, *ids: str) -> None:
    for run_id in ids:
        store.create_run(Run(id=run_id, workflow_name="w", workflow_file="f"))


def test_exact_id_wins_over_longer_ids_with_that_prefix(store: Store) -> None:
    add(store, "abc", "abcd", "abce")
    assert store.get_run("abc").id == "abc"
    assert store.resolve_run_id("abc") == "abc"


def test_unique_prefix_resolves(store: Store) -> None:
    add(store, "abc123", "abd456")
    assert store.get_run("abc").id == "abc123"
    assert store.resolve_run_id("abd") == "abd456"


def test_unknown_id_raises_run_not_found(store: Store) -> None:
    add(store, "abc123")
    with pytest.raises(RunNotFoundError, match="run not found: zzz"):
        store.get_run("zzz")
    with pytest.raises(LookupError):
        store.resolve_run_id("")


def test_ambiguous_prefix_lists_ten_candidates_and_the_rest_count(store: Store) -> None:
    ids = [f"pp{n:02d}" for n in range(12)]
    add(store, *ids, "qq")
    with pytest.raises(AmbiguousRunIdError) as info:
        store.get_run("pp")
    err = info.value
    assert err.candidates == ids[:10]
    assert str(err) == f"ambiguous run ID prefix pp matches: {', '.join(ids[:10])}, and 2 more"
    assert isinstance(err, LookupError)
    assert isinstance(err, StoreError)


def test_ambiguous_prefix_with_few_matches_has_no_more_suffix(store: Store) -> None:
    add(store, "xa", "xb")
    with pytest.raises(AmbiguousRunIdError, match=r"matches: xa, xb$"):
        store.resolve_run_id("x")


@pytest.mark.parametrize("prefix", ["ab%", "ab_", "a%", "%", "_"])
def test_prefix_is_compared_literally_not_as_a_like_pattern(store: Store, prefix: str) -> None:
    add(store, "ab%cd", "ab_cd", "abXcd", "abYcd")
    matches = [i for i in ["ab%cd", "ab_cd", "abXcd", "abYcd"] if i.startswith(prefix)]
    if len(matches) == 1:
        assert store.resolve_run_id(prefix) == matches[0]
    else:
        with pytest.raises(RunNotFoundError):
            store.resolve_run_id(prefix)


def test_prefix_ending_in_the_highest_code_point_still_resolves(store: Store) -> None:
    add(store, "a\U0010ffffz", "b")
    assert store.resolve_run_id("a\U0010ffff") == "a\U0010ffffz"


def test_read_helpers_accept_prefixes(store: Store, new_run: NewRun) -> None:
    run = new_run()
    store.create_audit_entry(run.id, "run_started", "{}")
    assert len(store.list_audit_trail(run_id=run.id[:20])) == 1
    with pytest.raises(RunNotFoundError):
        store.list_task_executions(run_id="nope")


# -- listing ---------------------------------------------------------------------------------


def seed(new_run: NewRun) -> dict[str, Run]:
    return {
        "old": new_run(id="r1", start_time=at(0), workflow_name="etl", tags=["a", "b"]),
        "mid": new_run(id="r2", start_time=at(10), workflow_name="web", tags=["ab"]),
        "tie_low": new_run(id="r3", start_time=at(20), workflow_name="etl",
                           status=RunStatus.SUCCESS, duration_ms=500),
        "tie_high": new_run(id="r4", start_time=at(20), workflow_name="etl", tags=["b"],
                            status=RunStatus.FAILED, duration_ms=1500),
    }  # fmt: skip


def ids(runs: list[Run]) -> list[str]:
    return [r.id for r in runs]


def test_runs_are_listed_newest_first_then_by_id_desc(store: Store, new_run: NewRun) -> None:
    seed(new_run)
    assert ids(store.list_runs()) == ["r4", "r3", "r2", "r1"]


def test_limit_zero_means_no_limit_and_offset_pages(store: Store, new_run: NewRun) -> None:
    seed(new_run)
    assert ids(store.list_runs(limit=2)) == ["r4", "r3"]
    assert ids(store.list_runs(limit=2, offset=2)) == ["r2", "r1"]
    assert ids(store.list_runs(offset=3)) == ["r1"]
    with pytest.raises(ValueError):
        store.list_runs(limit=-1)


def test_run_filters_combine_with_and(store: Store, new_run: NewRun) -> None:
    seed(new_run)
    assert ids(store.list_runs(workflow="etl")) == ["r4", "r3", "r1"]
    assert ids(store.list_runs(status=RunStatus.SUCCESS)) == ["r3"]
    assert ids(store.list_runs(status="failed", workflow="etl")) == ["r4"]
    assert ids(store.list_runs(start_after=at(10))) == ["r4", "r3", "r2"]
    assert ids(store.list_runs(start_before=at(10))) == ["r1"]
    assert ids(store.list_runs(start_after=at(5), start_before=at(20))) == ["r2"]
    assert ids(store.list_runs(min_duration_ms=1000)) == ["r4"]
    assert store.list_runs(workflow="nope") == []


def test_tag_filter_matches_whole_array_elements_only(store: Store, new_run: NewRun) -> None:
    seed(new_run)
    assert ids(store.list_runs(tag="b")) == ["r4", "r1"]
    assert ids(store.list_runs(tag="ab")) == ["r2"]
    assert store.list_runs(tag="%") == []
    assert ids(store.list_runs(tag="b", workflow="etl", start_before=at(15))) == ["r1"]


def test_other_sort_orders(store: Store, new_run: NewRun) -> None:
    seed(new_run)
    assert ids(store.list_runs(sort="name")) == ["r4", "r3", "r1", "r2"]
    assert ids(store.list_runs(sort="duration")) == ["r4", "r3", "r2", "r1"]
    assert ids(store.list_runs(sort="status"))[0] == "r4"
    with pytest.raises(ValueError):
        store.list_runs(sort="colour")


def test_summary_counts_every_matching_run(store: Store, new_run: NewRun) -> None:
    seed(new_run)
    new_run(id="r5", start_time=at(30), status=RunStatus.INTERRUPTED, total_tasks=4)
    summary = store.run_summary()
    assert summary.total_runs == 5
    assert (summary.success, summary.failed, summary.running) == (1, 1, 2)
    assert (summary.cancelled, summary.interrupted) == (0, 1)
    assert summary.total_duration_ms == 2000
    assert summary.avg_duration_ms == 1000
    assert summary.avg_tasks == pytest.approx(0.8)
    assert summary.success_rate == pytest.approx(1 / 3)
    assert store.run_summary(workflow="etl").total_runs == 3
    assert store.count_runs(tag="b") == 2
    data = store.run_summary(status="nothing").to_dict()
    assert data["total_runs"] == 0
    assert data["avg_duration_ms"] == 0
    assert data["success_rate"] == 0.0


def test_summary_over_many_runs_is_one_query(store: Store) -> None:
    with store.transaction():
        for n in range(2000):
            status = RunStatus.SUCCESS if n % 4 else RunStatus.FAILED
            store.create_run(
                Run(workflow_name="w", workflow_file="f", status=status, duration_ms=n)
            )
    summary = store.run_summary()
    assert (summary.total_runs, summary.success, summary.failed) == (2000, 1500, 500)
    assert summary.total_duration_ms == sum(range(2000))


def test_workflow_stats_group_runs_by_workflow(store: Store, new_run: NewRun) -> None:
    seed(new_run)
    stats = store.workflow_stats()
    assert sorted(stats) == ["etl", "web"]
    etl = stats["etl"]
    assert (etl.total_runs, etl.success_count, etl.failed_count) == (3, 1, 1)
    assert etl.last_run == at(20)


def test_json_rows_equal_run_json_of_the_runs(store: Store, new_run: NewRun) -> None:
    """``wf runs --json`` reads rows of the shown columns only (``history_document``): the same
    document as the listing of ``Run`` objects, whatever the filters, order and page."""
    from wf.history import RunFilters, RunPage, history_document, list_history

    seed(new_run)
    resumed = new_run(workflow_name="etl", tags=["a", "b"], error="boom", start_time=at(25))
    resumed.status, resumed.end_time, resumed.duration_ms = RunStatus.FAILED, at(30), 1234
    resumed.resume_count, resumed.last_resume_time = 2, at(28)
    store.update_run(resumed)
    for filters, page in [
        (RunFilters(), RunPage(0, 0, "time")),
        (RunFilters(), RunPage(2, 1, "duration")),
        (RunFilters(workflow="etl"), RunPage(0, 0, "workflow")),
        (RunFilters(tag="a"), RunPage(5, 0, "status")),
        (RunFilters(status="failed", start_after=at(-60)), RunPage(0, 0, "tasks")),
    ]:
        expected = list_history(store, filters, page).to_dict()
        assert expected["runs"]
        assert history_document(store, filters, page) == expected
