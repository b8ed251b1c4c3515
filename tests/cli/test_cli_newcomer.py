"""What a newcomer meets on the command line: warnings before a run, config hints, messages."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tarfile
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_samples import WriteWorkflow

from wf.cli.fmt import middle_cut, plural
from wf.cli.progress import LiveProgress, PlainProgress
from wf.cli.summary import failure_kind
from wf.config import default_config_text, load_config
from wf.executor import ProgressEvent, ProgressEventKind
from wf.storage import TaskExecution, TaskStatus

Wf = Callable[..., tuple[int, str, str]]


def test_validate_and_run_warn_about_a_variable_nothing_sets(
    wf: Wf, write_workflow: WriteWorkflow
) -> None:
    write_workflow("greet", '[tasks.a]\ncmd = "echo {{.who}}"\n')
    code, out, _ = wf("validate", "greet")
    assert code == 0
    assert 'task a reads "who", which nothing sets' in out
    code, _, err = wf("run", "greet", "--plain")
    assert code == 1  # it really does fail: the warning came before the start
    assert 'warning: task a reads "who", which nothing sets' in err
    assert err.index("warning: task a reads") < err.index("Error:")
    code, _, err = wf("run", "greet", "--plain", "--var", "who=me")
    assert code == 0
    assert "nothing sets" not in err


# --- configuration ---------------------------------------------------------------------------


def test_a_top_level_key_inside_paths_gets_a_hint(wf: Wf, wf_home: Path) -> None:
    wf_home.mkdir(parents=True, exist_ok=True)
    (wf_home / "config.toml").write_text('[paths]\ndefault_executor = "parallel"\n')
    code, _, err = wf("list")
    assert code == 0
    assert (
        'warning: config: unknown key "paths.default_executor" (did you mean the top-level '
        '"default_executor"? put it above the [paths] table, or write it without "paths.")'
    ) in err


def test_a_path_key_at_the_top_level_gets_a_hint(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('workflows = "flows"\n')
    config = load_config(config_path=cfg, environ={})
    assert config.warnings == ['config: unknown key "workflows" (did you mean "paths.workflows"?)']


def test_a_line_appended_to_the_init_config_is_a_top_level_setting(wf: Wf, wf_home: Path) -> None:
    code, _, _ = wf("init")
    assert code == 0
    config_file = wf_home / "config.toml"
    assert config_file.read_text() == default_config_text()
    with config_file.open("a") as fh:
        fh.write('default_executor = "parallel"\n')
    config = load_config(config_path=config_file, environ={})
    assert config.warnings == []
    assert config.default_executor == "parallel"


def test_every_commented_default_of_the_init_config_loads_when_uncommented(
    tmp_path: Path,
) -> None:
    setting = re.compile(r"# ([a-z_.]+ *=.*)")
    text = "\n".join(
        setting.sub(r"\1", line) if setting.match(line) else line
        for line in default_config_text().splitlines()
    )
    assert "paths.logs" in text
    assert tomllib.loads(text)["paths"]["logs"] == "logs"
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    config = load_config(config_path=cfg, environ={})
    assert config.warnings == []
    assert config.logs_dir == tmp_path / "logs"


# --- failure summary ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "text"),
    [
        (
            TaskExecution(state=TaskStatus.FAILED, exit_code=2, error_message="exit status 2"),
            "exit code 2",
        ),
        (
            TaskExecution(
                state=TaskStatus.FAILED, exit_code=-1, error_message="timed out after 1s"
            ),
            "timed out after 1s",
        ),
        (
            TaskExecution(
                state=TaskStatus.FAILED, error_message="working directory does not exist: x"
            ),
            "failed before start: working directory does not exist: x",
        ),
        (
            TaskExecution(
                state=TaskStatus.FAILED,
                exit_code=0,
                error_message='failed to register output: variable "v" already set by task "a"',
            ),
            'output registration failed: variable "v" already set by task "a"',
        ),
        (
            TaskExecution(
                state=TaskStatus.FAILED,
                exit_code=-1,
                error_message="failed to start command: No such file or directory: /bin/sh",
            ),
            "failed to start command: No such file or directory: /bin/sh",
        ),
        (TaskExecution(state=TaskStatus.CANCELLED, error_message="cancelled: x"), "cancelled"),
    ],
)
def test_the_root_cause_says_how_the_task_ended(row: TaskExecution, text: str) -> None:
    assert failure_kind(row) == text


def test_a_registration_failure_is_named_in_the_summary_runs_and_logs(
    wf: Wf, write_workflow: WriteWorkflow, last_run_id: Callable[[], str]
) -> None:
    write_workflow(
        "reg",
        """\
        [tasks.a]
        cmd = 'echo "failed_task=x" >> "$WF_OUTPUT"'
        [tasks.b]
        cmd = "true"
        depends_on = ["a"]
        """,
    )
    code, out, _ = wf("run", "reg", "--plain")
    assert code == 1
    assert (
        'Root cause: a — output registration failed: WF_OUTPUT line 1: variable "failed_task" '
        "is reserved (1 attempt)"
    ) in out
    assert "exit code" not in out
    code, out, _ = wf("runs", "--logs")
    assert code == 0
    assert re.search(r"a\s+0\s+WF_OUTPUT line 1: variable \"failed_task\" is reserved", out)
    code, out, _ = wf("runs", "--tasks")
    assert code == 0
    assert re.search(r"  b\s+⊙ not started\s+-\s+-", out)


def test_retry_lines_say_why_and_the_audit_keeps_the_error(
    wf: Wf, write_workflow: WriteWorkflow, last_run_id: Callable[[], str]
) -> None:
    write_workflow("flaky", '[tasks.api-call]\ncmd = "exit 3"\nretries = 1\nretry_delay = 0.1\n')
    code, out, _ = wf("run", "flaky", "--plain")
    assert code == 1
    assert "↻ retrying api-call (attempt 2 in 0.1s): exit status 3" in out.splitlines()
    code, out, _ = wf("audit", last_run_id(), "--json", "--type", "task_retried")
    assert code == 0
    (entry,) = json.loads(out)
    assert entry["event_data"]["error"] == "exit status 3"
    assert entry["event_data"]["attempt"] == 2


def test_ignored_failures_are_marked_in_also_failed(wf: Wf, write_workflow: WriteWorkflow) -> None:
    write_workflow(
        "ign",
        """\
        [tasks.optional]
        cmd = "exit 1"
        ignore_failure = true
        [tasks.other]
        cmd = "exit 1"
        [tasks.main]
        cmd = "exit 2"
        depends_on = ["optional"]
        """,
    )
    code, out, _ = wf("run", "ign", "--plain", "--sequential")
    assert code == 1
    also = next(line for line in out.splitlines() if line.startswith("Also failed:"))
    assert "optional (ignored)" in also


# --- wf runs, wf logs --------------------------------------------------------------------------


def test_runs_says_the_counters_are_attempts(wf: Wf, write_workflow: WriteWorkflow) -> None:
    write_workflow("one", '[tasks.a]\ncmd = "true"\n')
    assert wf("run", "one", "--plain")[0] == 0
    code, out, _ = wf("runs")
    assert code == 0
    assert "SUCCESS, FAILED and SKIPPED count attempts" in out


def test_logs_with_a_missing_attempt_is_an_error(
    wf: Wf, write_workflow: WriteWorkflow, last_run_id: Callable[[], str]
) -> None:
    write_workflow("one", '[tasks.a]\ncmd = "echo hi"\n')
    assert wf("run", "one", "--plain")[0] == 0
    run_id = last_run_id()
    code, out, err = wf("logs", run_id, "a", "--attempt", "3")
    assert (code, out) == (1, "")
    assert err.strip() == "Error: attempt 3 not found for a"
    code, out, err = wf("logs", run_id, "--attempt", "3")
    assert (code, out) == (1, "")
    assert err.strip() == f"Error: attempt 3 not found in run '{run_id}'"
    code, out, _ = wf("logs", run_id, "a", "--attempt", "1")
    assert code == 0
    assert "[Attempt 1] hi" in out


# --- export, graph, workflow arguments ---------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "name"),
    [([], "run.tar.gz"), ([], "run.TGZ"), (["-f", "tar.gz"], "x.bin"), (["-f", "tar"], "y")],
)
def test_export_writes_a_tarball_from_the_extension_or_alias(
    wf: Wf,
    write_workflow: WriteWorkflow,
    last_run_id: Callable[[], str],
    tmp_path: Path,
    args: list[str],
    name: str,
) -> None:
    write_workflow("one", '[tasks.a]\ncmd = "echo hi"\n')
    assert wf("run", "one", "--plain")[0] == 0
    target = tmp_path / name
    code, _, err = wf("export", last_run_id(), "-o", str(target), *args)
    assert code == 0, err
    assert tarfile.is_tarfile(target)
    with tarfile.open(target) as tar:
        assert "run.json" in tar.getnames()
    json_target = tmp_path / "run.json"
    assert wf("export", last_run_id(), "-o", str(json_target))[0] == 0
    assert json.loads(json_target.read_text())["run"]["id"] == last_run_id()


def test_graph_warns_when_the_run_is_of_another_workflow(
    wf: Wf, write_workflow: WriteWorkflow, last_run_id: Callable[[], str]
) -> None:
    write_workflow("one", '[tasks.a]\ncmd = "true"\n')
    write_workflow("two", '[tasks.a]\ncmd = "true"\n')
    assert wf("run", "one", "--plain")[0] == 0
    run_id = last_run_id()
    code, _, err = wf("graph", "two", "--run", run_id)
    assert code == 0
    assert f"warning: run {run_id[:8]} is a run of workflow 'one', not 'two'" in err
    code, _, err = wf("graph", "one", "--run", run_id)
    assert code == 0
    assert "warning" not in err


@pytest.mark.parametrize("command", ["run", "validate", "graph"])
def test_a_missing_workflow_file_is_named_and_exits_1(wf: Wf, command: str) -> None:
    code, _, err = wf(command, "./nosuch.toml")
    assert code == 1
    assert err.strip() == "Error: workflow file not found: ./nosuch.toml"
    assert "must match" not in err


def test_a_name_that_is_a_local_file_gets_a_hint(wf: Wf, workdir: Path) -> None:
    (workdir / "fail.toml").write_text('[tasks.a]\ncmd = "true"\n')
    code, _, err = wf("run", "fail")
    assert code == 1
    assert err.rstrip().endswith("; did you mean ./fail.toml?")


# --- JSON errors, help -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "code", "error"),
    [
        (["run", "./nosuch.toml", "--json"], 1, "workflow file not found: ./nosuch.toml"),
        (["resume", "zzzz", "--json"], 1, "run not found: zzzz"),
        (["run", "--json", "x", "--bogus"], 2, "No such option"),
        (["run", "x.toml", "--json", "--var", "novalue"], 2, "invalid --var format"),
    ],
)
def test_json_runs_that_fail_before_a_run_exists_print_a_json_error(
    wf: Wf, workdir: Path, argv: list[str], code: int, error: str
) -> None:
    (workdir / "x.toml").write_text('[tasks.a]\ncmd = "true"\n')
    got, out, err = wf(*argv)
    assert got == code
    document = json.loads(out)
    assert document["exit_code"] == code
    assert document["error"].startswith(error)
    assert f"Error: {document['error']}" in err


def test_json_error_of_an_invalid_workflow_lists_the_errors(wf: Wf, workdir: Path) -> None:
    (workdir / "bad.toml").write_text("[tasks.a]\ncmd = 1\n")
    code, out, _ = wf("run", "./bad.toml", "--json")
    assert code == 2
    assert json.loads(out) == {
        "error": "workflow 'bad' is invalid (1 error)",
        "exit_code": 2,
        "errors": ['task "a": key "cmd" must be a string'],
    }


def test_resume_help_describes_resume(wf: Wf) -> None:
    code, out, _ = wf("resume", "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "Finish RUN_ID, a failed, cancelled or interrupted run" in text
    assert "The run's stored mode, concurrency and clean-env setting apply" in text
    assert "Run one task at a time (default)" not in text
    assert "(or the plan)" not in text


def test_verbose_prints_what_wf_is_doing(wf: Wf, write_workflow: WriteWorkflow) -> None:
    write_workflow("two", '[tasks.a]\ncmd = "true"\n[tasks.b]\ncmd = "true"\ndepends_on = ["a"]\n')
    code, _, err = wf("-v", "run", "two", "--plain")
    assert code == 0
    lines = err.splitlines()
    assert any(line.startswith("debug: config: ") for line in lines)
    assert any(line.startswith("debug: database opened: ") for line in lines)
    assert "debug: mode sequential, max_parallel 1, start order level by level" in lines
    assert "debug: level 0: a" in lines
    assert "debug: level 1: b" in lines
    spawns = [line for line in lines if line.startswith("debug: spawned ")]
    assert [line.split()[2] for line in spawns] == ["a", "b"]
    code, _, err = wf("run", "two", "--plain")
    assert "debug:" not in err


# --- terminal details --------------------------------------------------------------------------


def test_middle_cut_keeps_both_ends() -> None:
    assert middle_cut("build[region=eu]", 100) == "build[region=eu]"
    assert middle_cut("build[python=3.11,region=eu]", 12) == "build[…n=eu]"
    assert middle_cut("build[python=3.11,region=us]", 12) == "build[…n=us]"
    assert len(middle_cut("x" * 50, 10)) == 10


def test_plural() -> None:
    assert plural(1, "task") == "1 task"
    assert plural(2, "task") == "2 tasks"
    assert plural(0, "attempt") == "0 attempts"


def test_live_notices_are_printed_between_status_areas() -> None:
    stream = io.StringIO()
    progress = LiveProgress(
        workflow="w", mode="sequential", total=1, stream=stream, err_stream=stream
    )
    progress(ProgressEvent(ProgressEventKind.RUN_STARTED, run_id="r1"))
    progress(ProgressEvent(ProgressEventKind.TASK_STARTED, run_id="r1", task_id="a", attempt=1))
    progress.notice("cancelling run (press Ctrl+C again to kill immediately)")
    assert "cancelling" not in stream.getvalue()  # queued: nothing written from the handler
    progress(ProgressEvent(ProgressEventKind.TASK_FAILED, run_id="r1", task_id="a", error="x"))
    progress.close()
    text = stream.getvalue()
    before, after = text.split("cancelling run (press Ctrl+C again to kill immediately)\n")
    # The status area (3 lines) was erased just before the message, and drawn again after it.
    assert before.endswith("\x1b[3F\x1b[J")
    assert "failed a" in after.splitlines()[0]
    assert text.endswith("\x1b[J")  # the last area is cleared by close()


def test_live_status_shortens_long_node_names_from_the_middle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        shutil, "get_terminal_size", lambda fallback=(80, 24): os.terminal_size((44, 24))
    )
    progress = PlainProgress.__new__(LiveProgress)
    PlainProgress.__init__(progress, workflow="w", mode="parallel", total=2, stream=io.StringIO())
    progress.started = {
        "deploy[cluster=alpha,region=eu]": 0.0,
        "deploy[cluster=alpha,region=us]": 0.0,
    }
    lines = LiveProgress._status_lines(progress)
    running = [line.split()[1] for line in lines[2:]]
    assert len(set(running)) == 2
    assert running[0].endswith("on=eu]")
    assert running[1].endswith("on=us]")


def test_plain_start_lines_show_each_events_own_local_second() -> None:
    from datetime import UTC, datetime, timedelta

    out = io.StringIO()
    progress = PlainProgress(workflow="w", mode="parallel", total=4, stream=out)
    base = datetime(2026, 12, 6, 22, 59, 59, 999_999, tzinfo=UTC)
    # The same second twice, then the next second, then back: each line its own time.
    times = [base, base - timedelta(microseconds=5), base + timedelta(microseconds=1), base]
    for i, at in enumerate(times):
        progress(
            ProgressEvent(
                kind=ProgressEventKind.TASK_STARTED, run_id="r", task_id=f"t{i}", attempt=1, at=at
            )
        )
    progress.close()
    shown = [line.split()[-1] for line in out.getvalue().splitlines()]
    assert shown == [at.astimezone().strftime("%H:%M:%S") for at in times]
    assert shown[0] == shown[1] != shown[2]
