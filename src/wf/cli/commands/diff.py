"""``wf diff``: compare two runs task by task and variable by variable (docs/cli.md#wf-diff)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import click

from wf.cli.commands.inspect import clip
from wf.cli.context import app_context
from wf.cli.fmt import Style, local_time, render_table, short_id, table_duration
from wf.rundiff import TASK_FIELDS, DiffStatus, RunDiff, TaskDiff, VariableDiff, diff_runs
from wf.storage import Run

_MARK = {DiffStatus.ONLY_A: "-", DiffStatus.ONLY_B: "+", DiffStatus.CHANGED: "~"}
_LABELS = dict(TASK_FIELDS)


def _run_line(label: str, run: Run, style: Style) -> str:
    return (
        f"Run {label}: {short_id(run.id)}  {run.workflow_name}  "
        f"{style.run_status(str(run.status))}  started "
        f"{local_time(run.start_time, '%Y-%m-%d %H:%M:%S')}"
    )


def _overview(diff: RunDiff, style: Style) -> str:
    a, b = diff.run_a, diff.run_b
    values = [
        ("Status", style.run_status(str(a.status)), style.run_status(str(b.status))),
        ("Duration", table_duration(a.duration_ms), table_duration(b.duration_ms)),
        ("Tasks", a.total_tasks, b.total_tasks),
        ("Success", a.tasks_success, b.tasks_success),
        ("Failed", a.tasks_failed, b.tasks_failed),
        ("Skipped", a.tasks_skipped, b.tasks_skipped),
        ("Up to date", a.tasks_cached, b.tasks_cached),
        ("Resumes", a.resume_count, b.resume_count),
    ]
    rows = [("  " + k, va, vb, "~" if va != vb else "") for k, va, vb in values]
    return render_table(["", "RUN A", "RUN B", ""], rows)


def _show(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key == "fingerprint":
        return str(value)[:15]  # "v1:" and 12 hex digits tell fingerprints apart
    return str(value)


def _task_lines(task: TaskDiff, style: Style) -> list[str]:
    arrow = style.sym("arrow")
    mark = _MARK[task.status]
    if task.status is not DiffStatus.CHANGED:
        side, row = ("A", task.a) if task.status is DiffStatus.ONLY_A else ("B", task.b)
        return [f"  {mark} {task.task_id}  (only in run {side}: {row['state'] if row else '-'})"]
    lines = [f"  {mark} {task.task_id}"]
    for key in task.changed_fields():
        a, b = _show(key, (task.a or {}).get(key)), _show(key, (task.b or {}).get(key))
        lines.append(f"      {_LABELS[key]:<12} {clip(a, 28, style)} {arrow} {clip(b, 28, style)}")
    return lines


def _variable_lines(var: VariableDiff, style: Style) -> list[str]:
    mark = _MARK[var.status]
    if var.status is DiffStatus.ONLY_A:
        return [f"  {mark} {var.name}  (only in run A: {clip(var.a or '', 48, style)!s})"]
    if var.status is DiffStatus.ONLY_B:
        return [f"  {mark} {var.name}  (only in run B: {clip(var.b or '', 48, style)!s})"]
    return [
        f"  {mark} {var.name}",
        f"      A: {clip(var.a or '', 70, style)}",
        f"      B: {clip(var.b or '', 70, style)}",
    ]


def _tally(statuses: Counter[DiffStatus]) -> str:
    return (
        f"{statuses[DiffStatus.CHANGED]} changed, {statuses[DiffStatus.ONLY_A]} only in A, "
        f"{statuses[DiffStatus.ONLY_B]} only in B, {statuses[DiffStatus.SAME]} same"
    )


def render_diff(diff: RunDiff, style: Style) -> str:
    """Header, overview table, the differing tasks and variables, and the result line."""
    lines = [
        "═══ RUN DIFF ═══" if style.unicode else "=== RUN DIFF ===",
        _run_line("A", diff.run_a, style),
        _run_line("B", diff.run_b, style),
        "",
        _overview(diff, style),
        "",
        f"Tasks ({_tally(Counter(t.status for t in diff.tasks))}):",
    ]
    differing = [t for t in diff.tasks if t.status is not DiffStatus.SAME]
    lines += [line for t in differing for line in _task_lines(t, style)] or ["  (no differences)"]
    lines += ["", f"Variables ({_tally(Counter(v.status for v in diff.variables))}):"]
    changed_vars = [v for v in diff.variables if v.status is not DiffStatus.SAME]
    lines += [ln for v in changed_vars for ln in _variable_lines(v, style)] or [
        "  (no differences)"
    ]
    lines += ["", "Result: runs differ" if diff.changed else "Result: runs are identical"]
    return "\n".join(lines)


@click.command("diff")
@click.argument("run_a")
@click.argument("run_b")
@click.option("-j", "--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def command(run_a: str, run_b: str, as_json: bool) -> int:
    """Compare RUN_A with RUN_B (unique prefixes are enough).

    Tasks are compared by node ID using each run's latest attempt (state, exit code, error and
    fingerprint); variables by their latest value. The exit code is 0 whether or not they
    differ.
    """
    diff = diff_runs(app_context().store(), run_a, run_b)
    if as_json:
        click.echo(json.dumps(diff.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_diff(diff, Style()))
    return 0
