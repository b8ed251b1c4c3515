"""Registered outputs and logs: register, WF_OUTPUT, log streaming and cap.

See docs/variables.md, docs/executors.md.
"""

from __future__ import annotations

import threading

import pytest

from wf.executor.outputs import OutputError, parse_output_file, register_value
from wf.storage import RunStatus, TaskStatus

MARKER = "[wf] log limit of {n} bytes reached; further output of this attempt is discarded"


def fill(count: int, char: str) -> str:
    """Shell pipeline printing COUNT copies of CHAR (for TOML literal strings)."""
    return f"head -c {count} /dev/zero | tr '\\0' {char}"


def wait_for(path) -> str:
    """Shell loop waiting (at most ~5 s) for PATH to exist."""
    return f'i=0; while [ ! -f "{path}" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done'


# -- register -------------------------------------------------------------------------------
def test_register_stores_last_non_empty_stdout_line_for_later_tasks(write_dag, engine, store):
    dag = write_dag("""
        [tasks.produce]
        cmd = "echo first; echo '  the value  '; echo '   '; echo >&2 not-stdout"
        register = "result"
        [tasks.consume]
        cmd = "echo got={{.result}}"
        depends_on = ["produce"]
    """)
    result = engine.run(dag)
    assert result.run.status is RunStatus.SUCCESS
    assert result.log("consume") == b"got=the value\n"
    (snap,) = [
        s
        for s in store.list_context_snapshots(run_id=result.run.id, variable_name="result")
        if s.snapshot_type == "final"
    ]
    assert (snap.variable_value, snap.variable_type, snap.set_by_task) == (
        "the value",
        "string",
        "produce",
    )


def test_register_of_silent_task_is_empty_string(write_dag, engine):
    dag = write_dag("""
        [tasks.produce]
        cmd = "true"
        register = "result"
        [tasks.consume]
        cmd = "echo [{{.result}}]"
        depends_on = ["produce"]
    """)
    result = engine.run(dag)
    assert result.log("consume") == b"[]\n"


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        (b"a\nb\n", "b"),
        (b"a\nb", "b"),
        (b"a\n  b  \n \n\t\n", "b"),
        (b"", ""),
        (b"\n\n", ""),
        (b"x\r\n", "x"),
        (b"\xffz\n", "\ufffdz"),
    ],
)
def test_register_value_is_last_non_blank_line_trimmed(tail, expected):
    assert register_value(tail) == expected


def test_register_is_not_set_when_the_task_fails(write_dag, engine):
    dag = write_dag("""
        [tasks.produce]
        cmd = "echo value; exit 1"
        register = "result"
        ignore_failure = true
        [tasks.consume]
        cmd = "echo {{.result}}"
        depends_on = ["produce"]
    """)
    result = engine.run(dag)
    assert result.row("consume").error_message == (
        'interpolation failed in cmd: undefined variable "result"'
    )


def test_second_task_registering_the_same_name_fails_with_ownership_error(write_dag, engine):
    # (Two literal `register` names are refused by validation; WF_OUTPUT names are dynamic.)
    dag = write_dag("""
        [tasks.a]
        cmd = "echo 1"
        register = "shared"
        [tasks.b]
        cmd = 'echo "shared=2" >> "$WF_OUTPUT"'
        depends_on = ["a"]
        retries = 1
    """)
    result = engine.run(dag)
    assert result.run.status is RunStatus.FAILED
    rows = result.rows("b")
    # registration failures are attempt failures: retried, and exit code 0 is kept
    assert [r.attempt for r in rows] == [1, 2]
    for row in rows:
        assert row.state is TaskStatus.FAILED
        assert row.exit_code == 0
        assert "already set by task" in row.error_message
        assert row.error_message == (
            'failed to register output: variable "shared" already set by task "a"'
        )


def test_same_task_may_overwrite_its_own_variable_on_retry(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = 'echo "v$WF_ATTEMPT"; echo "k=w$WF_ATTEMPT" >> "$WF_OUTPUT"; [ "$WF_ATTEMPT" = 2 ]'
        register = "val"
        retries = 1
        [tasks.b]
        cmd = "echo {{.val}} {{.k}}"
        depends_on = ["a"]
    """)
    result = engine.run(dag)
    assert result.run.status is RunStatus.SUCCESS
    assert result.log("b") == b"v2 w2\n"


def test_interpolated_register_name_and_runtime_var(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "echo out"
        register = "{{.prefix}}_result"
        [tasks.b]
        cmd = "echo {{.pre_result}}"
        depends_on = ["a"]
    """)
    result = engine.run(dag, runtime_vars={"prefix": "pre"})
    assert result.log("b") == b"out\n"


def test_reserved_register_name_after_interpolation_is_early_failure(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "echo out"
        register = "{{.which}}"
    """)
    result = engine.run(dag, runtime_vars={"which": "failed_task"})
    row = result.row("a")
    assert row.exit_code is None
    assert "reserved" in row.error_message
    assert result.audit("task_failed")[0]["early"] is True


# -- WF_OUTPUT ------------------------------------------------------------------------------
def test_wf_output_variables_reach_later_tasks(write_dag, engine, tmp_path):
    source = tmp_path / "out.txt"
    source.write_bytes(b"# comment\n\n  count = 42\nurl=http://x/?a=b \nurl=second\r\n")
    dag = write_dag(f"""
        [tasks.a]
        cmd = 'cat "{source}" > "$WF_OUTPUT"'
        [tasks.b]
        cmd = "echo '[{{{{.count}}}}]' '[{{{{.url}}}}]'"
        depends_on = ["a"]
    """)
    result = engine.run(dag)
    assert result.run.status is RunStatus.SUCCESS, result.rows("a")[0].error_message
    assert result.log("b") == b"[ 42] [second]\n"


def test_wf_output_names_a_file_the_task_creates_and_wf_makes_it_private(write_dag, engine):
    # docs/variables.md: wf does not create the file; a missing file means no variables.
    dag = write_dag("""
        [tasks.a]
        cmd = 'test ! -e "$WF_OUTPUT" && test -d "$(dirname "$WF_OUTPUT")" && echo ok'
        [tasks.b]
        cmd = 'umask 000; echo x=1 >> "$WF_OUTPUT"'
        [tasks.c]
        cmd = 'echo "{{.x}}"'
        depends_on = ["b"]
    """)
    result = engine.run(dag)
    assert result.run.status is RunStatus.SUCCESS
    assert result.log("a") == b"ok\n"
    assert result.log("c") == b"1\n"
    run_dir = result.logs_dir / result.run.id
    assert not (run_dir / "a" / "attempt_1.output").exists()
    assert (run_dir / "b" / "attempt_1.output").stat().st_mode & 0o777 == 0o600


def test_wf_output_and_register_are_both_set_register_last(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = 'echo "x=from-file" >> "$WF_OUTPUT"; echo from-stdout'
        register = "x"
        [tasks.b]
        cmd = "echo {{.x}}"
        depends_on = ["a"]
    """)
    result = engine.run(dag)
    assert result.log("b") == b"from-stdout\n"


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("ok=1\nno equals sign\n", "WF_OUTPUT line 2: expected key=value"),
        ("a=1\n\nb=2\n# c\nbad line\n", "WF_OUTPUT line 5: expected key=value"),
        ("a b=1\n", 'WF_OUTPUT line 1: invalid variable name "a b"'),
        ("x=1\nerror_message=boom\n", 'WF_OUTPUT line 2: variable "error_message" is reserved'),
        ("failed_dag=x\n", 'WF_OUTPUT line 1: variable "failed_dag" is reserved'),
    ],
)
def test_invalid_wf_output_fails_the_attempt_keeping_exit_code_0(
    write_dag, engine, tmp_path, content, error
):
    source = tmp_path / "out.txt"
    source.write_text(content)
    dag = write_dag(f"""
        [tasks.a]
        cmd = 'cat "{source}" > "$WF_OUTPUT"'
        [tasks.b]
        cmd = "true"
        depends_on = ["a"]
    """)
    result = engine.run(dag)
    assert result.run.status is RunStatus.FAILED
    row = result.row("a")
    assert row.state is TaskStatus.FAILED
    assert row.exit_code == 0
    assert row.error_message == error
    assert result.rows("b") == []


def test_failed_wf_output_registers_nothing(write_dag, engine, store):
    dag = write_dag("""
        [tasks.a]
        cmd = 'printf "good=1\\nbad\\n" > "$WF_OUTPUT"; echo reg'
        register = "r"
        ignore_failure = true
        [tasks.b]
        cmd = "echo {{.good}}"
        depends_on = ["a"]
    """)
    result = engine.run(dag)
    assert result.row("b").error_message == (
        'interpolation failed in cmd: undefined variable "good"'
    )
    assert [s.variable_name for s in store.list_context_snapshots(run_id=result.run.id)] == []


def test_wf_output_over_one_mib_fails_the_attempt(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = 'head -c 1048577 /dev/zero | tr "\\\\0" "#" > "$WF_OUTPUT"'
    """)
    result = engine.run(dag)
    row = result.row("a")
    assert row.exit_code == 0
    assert row.error_message == "WF_OUTPUT file exceeds 1 MiB"


def test_wf_output_of_exactly_one_mib_is_accepted(tmp_path):
    path = tmp_path / "out"
    line = b"k=" + b"v" * (1024 * 1024 - 3) + b"\n"
    path.write_bytes(line)
    assert parse_output_file(path) == [("k", "v" * (1024 * 1024 - 3))]
    path.write_bytes(line + b"\n")
    with pytest.raises(OutputError, match="exceeds 1 MiB"):
        parse_output_file(path)


def test_wf_output_must_be_utf8(tmp_path):
    path = tmp_path / "out"
    path.write_bytes(b"k=\xff\n")
    with pytest.raises(OutputError, match="UTF-8"):
        parse_output_file(path)


def test_wf_output_parsing_rules(tmp_path):
    path = tmp_path / "out"
    path.write_bytes(b"# c\n\n   # indented comment\n a = 1 \nb==2\r\na=3\nempty=\n")
    # key trimmed, value verbatim (only the trailing CR removed), later duplicate wins
    assert parse_output_file(path) == [("b", "=2"), ("a", "3"), ("empty", "")]


def test_wf_output_is_not_read_after_a_failed_exit(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = 'echo "not valid" > "$WF_OUTPUT"; exit 2'
    """)
    result = engine.run(dag)
    assert result.row("a").error_message == "exit status 2"


def test_matrix_nodes_use_short_names_and_later_tasks_see_their_outputs(write_dag, engine):
    dag = write_dag("""
        [tasks.build]
        cmd = 'echo "art_{{.env}}=app-{{.env}}" >> "$WF_OUTPUT"; echo tag-{{.env}}'
        matrix = { env = ["dev", "prod"] }
        register = "build[env={{.env}}].tag"
        [tasks.report]
        cmd = "echo {{.art_dev}} {{.art_prod}} {{.build[env=dev].tag}} {{.build[env=prod].env}}"
        depends_on = ["build"]
        [tasks.short]
        cmd = "echo {{.env}}"
        depends_on = ["build"]
    """)
    result = engine.run(dag, "parallel")
    assert result.log("report") == b"app-dev app-prod tag-dev prod\n"
    # outside the expansion the short name does not resolve
    assert result.row("short").error_message == (
        'interpolation failed in cmd: undefined variable "env"'
    )
    build = result.row("build[env=prod]")
    assert build.is_matrix_expansion
    assert build.matrix_vars == {"env": "prod"}
    assert build.command == 'echo "art_prod=app-prod" >> "$WF_OUTPUT"; echo tag-prod'


def test_matrix_condition_uses_the_short_name(write_dag, engine):
    dag = write_dag("""
        [tasks.deploy]
        cmd = "echo {{.env}}"
        matrix = { env = ["dev", "prod"] }
        if = 'env == "prod"'
    """)
    result = engine.run(dag)
    assert result.row("deploy[env=dev]").state is TaskStatus.SKIPPED
    assert result.row("deploy[env=prod]").state is TaskStatus.SUCCESS
    assert result.log("deploy[env=prod]") == b"prod\n"


# -- logs -----------------------------------------------------------------------------------
@pytest.mark.slow
def test_tens_of_megabytes_on_both_streams_do_not_hang_and_are_logged_completely(write_dag, engine):
    dag = write_dag(f"""
        [tasks.noisy]
        cmd = '''({fill(20_000_000, "b")} >&2) & {fill(20_000_000, "a")}; wait'''
    """)
    result = engine.run(dag)
    assert result.run.status is RunStatus.SUCCESS
    row = result.row("noisy")
    assert row.output_truncated == 0
    data = result.log("noisy")
    assert len(data) == 40_000_000
    assert data.count(b"a") == 20_000_000
    assert data.count(b"b") == 20_000_000


def test_log_cap_writes_marker_once_and_counts_discarded_bytes(write_dag, engine):
    dag = write_dag(f"""
        [tasks.noisy]
        cmd = '''{fill(3000, "a")}; {fill(2000, "b")} >&2; {fill(500, "c")}; echo; echo last-line'''
        register = "last"
        [tasks.after]
        cmd = "echo {{{{.last}}}}"
        depends_on = ["noisy"]
    """)
    result = engine.run(dag, executor_kwargs={"log_max_bytes": 1000})
    assert result.run.status is RunStatus.SUCCESS
    row = result.row("noisy")
    total = 3000 + 2000 + 500 + 1 + len("last-line\n")
    assert row.output_truncated == total - 1000
    data = result.log("noisy")
    marker = MARKER.format(n=1000).encode()
    assert data.count(marker) == 1
    assert data == b"a" * 1000 + b"\n" + marker + b"\n"
    # the in-memory stdout tail keeps being updated after the cap
    assert result.log("after") == b"last-line\n"


def test_output_exactly_at_the_cap_is_not_truncated(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "printf 0123456789"
    """)
    result = engine.run(dag, executor_kwargs={"log_max_bytes": 10})
    assert result.row("a").output_truncated == 0
    assert result.log("a") == b"0123456789"


def test_non_utf8_output_is_logged_byte_for_byte(write_dag, engine):
    dag = write_dag(r"""
        [tasks.a]
        cmd = '''printf '\377\376abc\200\n'; printf '\001\002' >&2'''
    """)
    result = engine.run(dag)
    assert result.log("a") == b"\xff\xfeabc\x80\n\x01\x02"


def test_stdout_and_stderr_share_one_log_in_arrival_order(write_dag, engine):
    dag = write_dag("""
        [tasks.a]
        cmd = "echo one; sleep 0.05; echo two >&2; sleep 0.05; echo three"
    """)
    result = engine.run(dag)
    assert result.log("a") == b"one\ntwo\nthree\n"


def test_log_is_streamed_while_the_task_runs(write_dag, engine, tmp_path, when_log_contains):
    go = tmp_path / "go"
    seen: list[bytes] = []

    def read_then_release() -> None:
        (path,) = list((tmp_path / "logs").glob("*/a/attempt_1.log"))
        seen.append(path.read_bytes())
        go.touch()

    # The task waits (up to ~5 s) for the watcher, which only acts once it has read "first".
    dag = write_dag(f"""
        [tasks.a]
        cmd = 'echo first; {wait_for(go)}; test -f "{go}" && echo second'
    """)
    watcher = when_log_contains(b"first", read_then_release)
    result = engine.run(dag)
    watcher.join(5)
    assert result.run.status is RunStatus.SUCCESS
    assert seen == [b"first\n"]
    assert result.log("a") == b"first\nsecond\n"


def test_row_is_running_while_the_process_is_alive(write_dag, engine, tmp_path):
    go = tmp_path / "go"
    states: list[str] = []
    dag = write_dag(f"""
        [tasks.a]
        cmd = 'echo ready; {wait_for(go)}'
    """)

    def watch() -> None:
        for _ in range(200):
            rows = engine.store.list_task_executions(task_id="a")
            if rows and rows[-1].state == TaskStatus.RUNNING:
                states.append(str(rows[-1].state))
                go.touch()
                return
            threading.Event().wait(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    result = engine.run(dag)
    thread.join(5)
    assert states == ["running"]
    assert result.row("a").state is TaskStatus.SUCCESS
