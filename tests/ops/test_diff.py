"""``wf diff`` (docs/cli.md#wf-diff): task and variable comparison, ordering, text and JSON."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from wf.cli.commands.diff import render_diff
from wf.cli.fmt import Style
from wf.rundiff import DiffStatus, RunDiff, compare_tasks, compare_variables, diff_runs
from wf.storage import ContextSnapshot, Run, RunStatus, TaskExecution, TaskStatus

V1 = """\
    name = "release"

    [tasks.a]
    cmd = "echo one"
    register = "out"

    [tasks.b]
    cmd = "true"
    depends_on = ["a"]

    [tasks.old]
    cmd = "true"
    """

V2 = """\
    name = "release"

    [tasks.a]
    cmd = "echo two"
    register = "out"

    [tasks.b]
    cmd = "true"
    depends_on = ["a"]

    [tasks.new]
    cmd = "true"
    """


@pytest.fixture
def two_versions(write_workflow, run_workflow):
    """Run V1, then V2 of the same workflow file; return both run IDs."""
    first = run_workflow(write_workflow(V1, "release"), expect=0)
    second = run_workflow(write_workflow(V2, "release"), expect=0)
    return first, second


def test_json_reports_changed_and_one_sided_tasks_in_order(wf, two_versions):
    first, second = two_versions
    code, out, _ = wf("diff", first, second, "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"run_a", "run_b", "tasks", "variables", "changed"}
    assert data["run_a"]["id"] == first
    assert data["run_b"]["id"] == second
    assert data["changed"] is True
    assert [(t["task_id"], t["status"]) for t in data["tasks"]] == [
        ("old", "only_a"),
        ("new", "only_b"),
        ("a", "changed"),
        ("b", "same"),
    ]
    old, new, a, _ = data["tasks"]
    assert old["b"] is None
    assert new["a"] is None
    assert set(a) == {"task_id", "status", "a", "b"}
    assert a["a"]["state"] == a["b"]["state"] == "success"
    assert a["a"]["fingerprint"] != a["b"]["fingerprint"]
    assert data["variables"] == [{"name": "out", "status": "changed", "a": "one", "b": "two"}]


def test_text_shows_overview_changes_and_result(wf, two_versions):
    first, second = two_versions
    code, out, _ = wf("diff", first[:8], second[:8])
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "═══ RUN DIFF ═══"
    assert lines[1].startswith(f"Run A: {first[:8]}  release")
    assert lines[2].startswith(f"Run B: {second[:8]}  release")
    assert "  - old  (only in run A: success)" in lines
    assert "  + new  (only in run B: success)" in lines
    assert "  ~ a" in lines
    assert any(line.strip().startswith("fingerprint  v1:") for line in lines)
    assert "  ~ out" in lines
    assert "      A: one" in lines
    assert "      B: two" in lines
    assert lines[-1] == "Result: runs differ"


def test_two_runs_of_an_unchanged_workflow_are_identical(wf, write_workflow, run_workflow):
    path = write_workflow(V1, "release")
    first = run_workflow(path, expect=0)
    second = run_workflow(path, expect=0)
    code, out, _ = wf("diff", first, second)
    assert code == 0
    assert out.splitlines()[-1] == "Result: runs are identical"
    data = json.loads(wf("diff", first, second, "-j").out)
    assert data["changed"] is False
    assert {t["status"] for t in data["tasks"]} == {"same"}


def test_a_failed_task_differs_by_state_exit_code_and_error(wf, write_workflow, run_workflow):
    ok = run_workflow(write_workflow('[tasks.t]\ncmd = "true"\n', "t"), expect=0)
    bad = run_workflow(write_workflow('[tasks.t]\ncmd = "exit 4"\n', "t"), expect=1)
    out = wf("diff", ok, bad).out
    assert "      state        success → failed" in out
    assert "      exit code    0 → 4" in out
    assert "      error        - → exit status 4" in out
    assert "~" in next(line for line in out.splitlines() if line.startswith("  Status"))


@pytest.mark.parametrize("which", [0, 1])
def test_unknown_run_exits_1(wf, flow_run, which):
    args = [flow_run, flow_run]
    args[which] = "nope"
    code, _, err = wf("diff", *args)
    assert code == 1
    assert "run not found: nope" in err


def test_library_compares_stored_runs_by_prefix(store, two_versions):
    first, second = two_versions
    diff = diff_runs(store, first[:9], second[:9])
    assert diff.run_a.id == first
    assert diff.changed


# -- comparison rules (hand-built rows) ----------------------------------------------------


def row(task_id: str, id_: int, **kw: object) -> TaskExecution:
    kw.setdefault("state", TaskStatus.SUCCESS)
    kw.setdefault("exit_code", 0)
    kw.setdefault("fingerprint", "v1:f")
    return TaskExecution(id=id_, task_id=task_id, **kw)  # type: ignore[arg-type]


def test_latest_non_forensic_row_of_each_node_is_compared():
    a = [row("t", 1, state=TaskStatus.FAILED, exit_code=1), row("t", 2)]
    b = [row("t", 7), row("t", 9, is_forensic=True, state=TaskStatus.FAILED)]
    (only,) = compare_tasks(a, b)
    assert only.status is DiffStatus.SAME
    assert only.a is not None
    assert only.a["attempt"] == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("state", TaskStatus.SKIPPED),
        ("exit_code", 1),
        ("error_message", "boom"),
        ("fingerprint", "v1:other"),
    ],
)
def test_each_compared_field_makes_a_task_changed(field, value):
    (diff,) = compare_tasks([row("t", 1)], [row("t", 2, **{field: value})])
    assert diff.status is DiffStatus.CHANGED
    assert diff.changed_fields() == [field]


def test_duration_and_attempt_alone_do_not_make_a_change():
    (diff,) = compare_tasks([row("t", 1, duration_ms=5)], [row("t", 2, duration_ms=9, attempt=3)])
    assert diff.status is DiffStatus.SAME


def test_results_are_sorted_by_status_then_name():
    a = [row(n, i) for i, n in enumerate(["z", "y", "m", "b"])]
    b = [row("m", 10, exit_code=2), row("b", 11), row("c", 12), row("a", 13)]
    order = [(d.task_id, str(d.status)) for d in compare_tasks(a, b)]
    assert order == [
        ("y", "only_a"),
        ("z", "only_a"),
        ("a", "only_b"),
        ("c", "only_b"),
        ("m", "changed"),
        ("b", "same"),
    ]


def test_variables_compare_by_value():
    def snap(name: str, value: str, type_: str = "string") -> ContextSnapshot:
        return ContextSnapshot(variable_name=name, variable_value=value, variable_type=type_)

    diffs = compare_variables(
        [snap("keep", "1"), snap("gone", "x"), snap("moved", "a")],
        [snap("keep", "1", "int"), snap("moved", "b"), snap("added", "y")],
    )
    assert [(d.name, str(d.status), d.a, d.b) for d in diffs] == [
        ("gone", "only_a", "x", None),
        ("added", "only_b", None, "y"),
        ("moved", "changed", "a", "b"),
        ("keep", "same", "1", "1"),
    ]


def test_rendering_without_unicode_uses_ascii_stand_ins():
    run = Run(id="A" * 27, workflow_name="w", status=RunStatus.SUCCESS)
    diff = RunDiff(run, run, compare_tasks([row("t", 1)], [row("t", 2)]), [])
    style = Style(SimpleNamespace(encoding="ascii"), colour=False)  # type: ignore[arg-type]
    text = render_diff(diff, style)
    assert text.isascii()
    assert text.startswith("=== RUN DIFF ===")
    assert text.endswith("Result: runs are identical")
    assert max(len(line) for line in text.splitlines()) <= 80
