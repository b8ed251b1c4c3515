"""Security rules at the command line, beyond tests/test_security.py: template directives in every
field, ownership isolation, the append-only audit trail, file modes under a hostile umask,
literal SQL input, no network, and secrets that never show up in an error about something else.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import stat
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from reliability_helpers import RunFlow, record

Wf = Callable[..., Any]
SECRET = "s3cr3t"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- template injection, in every interpolated field (docs/variables.md) -------------------------
class TestTemplateDirectives:
    DIRECTIVES: ClassVar[list[str]] = [
        "{{range .}}leak{{end}}",
        "{{if .safe_var}}injected{{end}}",
        '{{define "x"}}evil{{end}}',
        '{{template "x"}}',
        "{{with .safe_var}}exec{{end}}",
        '{{.safe_var | printf "%s"}}',
    ]

    @pytest.mark.parametrize("directive", DIRECTIVES)
    def test_a_directive_in_an_env_value_is_never_evaluated(
        self, run_flow: RunFlow, directive: str
    ) -> None:
        result = run_flow(
            f"""
            [tasks.a]
            cmd = 'printf "%s" "$V"'
            env = {{ V = {json.dumps(directive)} }}
            """,
            "--var",
            "safe_var=SAFE",
        )
        if result.code == 0:
            log = Path(result.row("a")["log_path"]).read_text()
            assert log == directive  # left unevaluated, verbatim
        else:  # or rejected as an error
            assert result.code == 1
            assert "interpolation failed in env.V" in result.err
        text = result.out + result.err
        for word in ("leak", "injected", "exec", "evil"):
            assert not any(line.strip() == word for line in text.splitlines())
        record(
            "security",
            case=f"template directive {directive} in an env value: not evaluated",
            held=True,
        )

    @pytest.mark.parametrize("field", ["working_dir", "register"])
    def test_a_directive_in_working_dir_or_register_fails_early_or_stays_literal(
        self, run_flow: RunFlow, field: str
    ) -> None:
        result = run_flow(
            f'[tasks.a]\ncmd = "true"\n{field} = "{{{{range .}}}}leak{{{{end}}}}"\n',
            "--var",
            "safe_var=SAFE",
        )
        assert result.code in (1, 2)
        assert "Traceback" not in result.out + result.err
        assert "leak\n" not in result.out

    def test_dot_alone_never_yields_a_value(self, run_flow: RunFlow) -> None:
        result = run_flow(
            '[tasks.a]\ncmd = "echo {{.}}"\n', "--var", f"token={SECRET}", "--var", "b=2"
        )
        text = result.out + result.err
        if result.code == 0:
            text += Path(result.row("a")["log_path"]).read_text()
        assert SECRET not in text


# -- ownership isolation (docs/variables.md#names-and-ownership) ---------------------------------
class TestOwnership:
    def test_a_task_cannot_overwrite_another_tasks_variable(self, run_flow: RunFlow) -> None:
        result = run_flow(
            """
            [tasks.a]
            cmd = 'echo "shared=from-a" >> "$WF_OUTPUT"'

            [tasks.b]
            cmd = 'echo "shared=from-b" >> "$WF_OUTPUT"'
            depends_on = ["a"]
            """
        )
        assert result.code == 1
        assert result.row("b")["error_message"] == (
            'failed to register output: variable "shared" already set by task "a"'
        )
        assert result.variables["shared"] == "from-a"

    def test_a_task_may_overwrite_its_own_variable(self, run_flow: RunFlow) -> None:
        result = run_flow(
            """
            [tasks.a]
            cmd = 'echo "v=1" >> "$WF_OUTPUT"; echo "v=2" >> "$WF_OUTPUT"'
            """
        )
        assert result.code == 0
        assert result.variables["v"] == "2"

    def test_a_runtime_variable_cannot_be_taken_over_by_a_task(self, run_flow: RunFlow) -> None:
        result = run_flow(
            '[tasks.a]\ncmd = \'echo "env=prod" >> "$WF_OUTPUT"\'\n', "--var", "env=dev"
        )
        assert result.code == 1
        assert 'already set by task "__runtime__"' in result.row("a")["error_message"]
        assert result.variables["env"] == "dev"

    def test_read_only_matrix_variables_resist_their_owner(self, run_flow: RunFlow) -> None:
        result = run_flow(
            """
            [tasks.deploy]
            matrix = { env = ["prod"] }
            cmd = "echo x"
            register = "deploy[env={{.env}}].env"
            """
        )
        assert result.code == 1
        error = result.row("deploy[env=prod]")["error_message"]
        assert "read-only" in error
        assert result.variables["deploy[env=prod].env"] == "prod"
        record(
            "security",
            case="ownership: cross-task, runtime and read-only matrix variables",
            held=True,
        )

    @pytest.mark.parametrize("name", ["failed_task", "failed_dag", "error_message"])
    def test_reserved_names_are_unavailable_to_tasks(self, run_flow: RunFlow, name: str) -> None:
        result = run_flow(f'[tasks.a]\ncmd = \'echo "{name}=x" >> "$WF_OUTPUT"\'\n')
        assert result.code == 1
        assert f'variable "{name}" is reserved' in result.row("a")["error_message"]
        record("security", case=f"ownership: reserved name {name} refused to a task", held=True)


# -- the audit trail is append-only (docs/storage.md#triggers) -----------------------------------
def test_the_audit_trail_of_a_real_run_refuses_update_and_delete(
    run_flow: RunFlow, wf: Wf, wf_home: Path
) -> None:
    result = run_flow('[tasks.a]\ncmd = "true"\n[tasks.b]\ncmd = "exit 1"\ndepends_on = ["a"]\n')
    run_id = result.run["id"]
    before = wf("audit", run_id, "--json").out
    conn = sqlite3.connect(wf_home / "wf.db", isolation_level=None)
    try:
        for statement in (
            "UPDATE audit_trail SET event_data = '{}'",
            "UPDATE audit_trail SET event_type = 'run_completed' WHERE event_type = 'task_failed'",
            "DELETE FROM audit_trail",
            "DELETE FROM audit_trail WHERE event_type = 'task_failed'",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="audit_trail is append-only"):
                conn.execute(statement)
        # A run with audit entries cannot be deleted either (no cascade).
        conn.execute("PRAGMA foreign_keys = ON")
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
    finally:
        conn.close()
    assert wf("audit", run_id, "--json").out == before
    events = [e["event_type"] for e in json.loads(before)]
    assert events[0] == "run_started"
    assert events[-1] == "run_completed"
    record("security", case="audit trail refuses UPDATE/DELETE after a real run", held=True)


# -- file modes, even with umask 000 (docs/configuration.md#paths) -------------------------------
@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    yield
    os.umask(previous)


def test_files_written_by_wf_are_private_even_with_umask_000(
    open_umask: None, run_flow: RunFlow, wf: Wf, wf_home: Path, workdir: Path
) -> None:
    assert wf("init").code == 0
    result = run_flow(
        '[tasks.a]\ncmd = "echo hi; echo k=v >> $WF_OUTPUT"\n[tasks.b]\ncmd = "exit 1"\n'
    )
    run_id = result.run["id"]
    db = wf_home / "wf.db"
    checked: dict[str, int] = {
        "database": mode(db),
        "database dir": mode(db.parent),
        "config": mode(wf_home / "config.toml"),
        "logs root": mode(wf_home / "logs"),
    }
    for suffix in ("-wal", "-shm"):
        side = Path(f"{db}{suffix}")
        if side.exists():
            checked[f"database {suffix}"] = mode(side)
    run_dir = wf_home / "logs" / run_id
    checked["run log dir"] = mode(run_dir)
    for task in ("a", "b"):
        checked[f"{task} log dir"] = mode(run_dir / task)
        for path in (run_dir / task).iterdir():
            checked[f"{task}/{path.name}"] = mode(path)
    assert wf("export", run_id, "-o", "exp/run.json").code == 0
    assert wf("export", run_id, "-f", "tar", "-o", "exp/run.tar.gz").code == 0
    checked["export dir"] = mode(workdir / "exp")
    checked["export json"] = mode(workdir / "exp" / "run.json")
    checked["export tar"] = mode(workdir / "exp" / "run.tar.gz")
    with tarfile.open(workdir / "exp" / "run.tar.gz") as tar:
        for member in tar.getmembers():
            if member.isfile():
                checked[f"tar member {member.name}"] = member.mode
    flow = workdir / "flow.toml"
    for fmt in ("dot", "json", "mermaid", "ascii"):
        assert wf("graph", str(flow), "-f", fmt, "-o", f"graph.{fmt}").code == 0
        checked[f"graph {fmt}"] = mode(workdir / f"graph.{fmt}")
    assert wf("graph", str(flow), "-f", "html", "-o", "graph.html").code == 0
    checked["graph html"] = mode(workdir / "graph.html")
    wrong = {
        name: oct(bits)
        for name, bits in checked.items()
        if bits != (0o700 if "dir" in name or name == "logs root" else 0o600)
    }
    assert not wrong, wrong
    record("security", case=f"file modes with umask 000 ({len(checked)} files and dirs)", held=True)


@pytest.mark.parametrize("umask", [0o000, 0o002, 0o077], ids=["000", "002", "077"])
def test_shared_files_are_0644_and_their_directories_0755_whatever_the_umask(
    wf: Wf, wf_home: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch, umask: int
) -> None:
    """The files meant to be shared (the example workflow, a saved schema) are readable by
    others and never writable by them; private ones stay private; with any umask."""
    monkeypatch.setenv("WF_PATHS_WORKFLOWS", str(workdir / "deep" / "flows"))
    previous = os.umask(umask)
    try:
        assert wf("init", "--example").code == 0
        assert wf("schema", "-o", "wf.schema.json").code == 0
    finally:
        os.umask(previous)
    checked = {
        "hello.toml": (mode(workdir / "deep" / "flows" / "hello.toml"), 0o644),
        "workflows dir": (mode(workdir / "deep" / "flows"), 0o755),
        "workflows parent": (mode(workdir / "deep"), 0o755),
        "schema": (mode(workdir / "wf.schema.json"), 0o644),
        "config": (mode(wf_home / "config.toml"), 0o600),
        "logs root": (mode(wf_home / "logs"), 0o700),
        "database": (mode(wf_home / "wf.db"), 0o600),
    }
    wrong = {name: oct(bits) for name, (bits, want) in checked.items() if bits != want}
    assert not wrong, wrong
    record("security", case=f"shared and private modes with umask {umask:03o}", held=True)


# -- SQL is parameterised; prefixes and filters are literal ---------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["runs", "-w", "x' OR '1'='1"],
        ["runs", "-w", "%"],
        ["runs", "--tag", "%"],
        ["runs", "--tag", '"]'],
        ["runs", "-s", "success' OR 'a'='a"],
        ["inspect", "%"],
        ["inspect", "_"],
        ["logs", "' OR 1=1 --"],
        ["audit", "%", "--type", "%"],
    ],
)
def test_sql_metacharacters_in_filters_and_ids_match_literally(
    run_flow: RunFlow, wf: Wf, args: list[str]
) -> None:
    run_flow('[tasks.a]\ncmd = "true"\n')
    code, out, err = wf(*args)
    assert "Traceback" not in out + err
    if args[0] == "runs" and args[1] != "-s":
        assert code == 0
        assert "No runs found matching the criteria" in out
    else:
        assert code in (1, 2)
        assert "Error:" in err
    record("security", case=f"SQL metacharacters, literal: wf {' '.join(args)}", held=True)


# -- no network ----------------------------------------------------------------------------------
@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    attempts: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(repr(args))
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def test_the_core_commands_open_no_network_connection(
    no_network: list[str], run_flow: RunFlow, wf: Wf, workdir: Path
) -> None:
    result = run_flow('[tasks.a]\ncmd = "echo hi"\n[tasks.b]\ncmd = "exit 1"\n')
    run_id = result.run["id"]
    flow = str(workdir / "flow.toml")
    for argv in (
        ["validate", flow, "--store"],
        ["graph", flow, "-f", "html", "-o", "g.html"],
        ["runs", "--detailed"],
        ["inspect", run_id],
        ["logs", run_id],
        ["audit", run_id],
        ["diff", run_id, run_id],
        ["export", run_id, "-o", "e.json"],
        ["health"],
        ["list", "-d"],
        ["resume", run_id, "--plain"],
    ):
        wf(*argv)
    assert no_network == []
    html = (workdir / "g.html").read_text()
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html
    record("security", case="no network connection from 11 core commands", held=True)


# -- secrets are not echoed in errors about something else -----------------------------------------
class TestSecretsStayOutOfErrors:
    def test_a_var_value_is_not_echoed_when_another_var_is_rejected(
        self, run_flow: RunFlow, wf: Wf, workdir: Path
    ) -> None:
        (workdir / "v.toml").write_text('[tasks.a]\ncmd = "true"\n')
        for bad in ("bad key=1", "failed_task=1", "x;y=1", "=1"):
            code, out, err = wf(
                "run", str(workdir / "v.toml"), "--var", f"token={SECRET}", "--var", bad
            )
            assert code == 2
            assert SECRET not in out + err

    def test_a_rejected_var_name_does_not_echo_its_value(self, wf: Wf, workdir: Path) -> None:
        (workdir / "v.toml").write_text('[tasks.a]\ncmd = "true"\n')
        code, out, err = wf("run", str(workdir / "v.toml"), "--var", f"bad name={SECRET}")
        assert code == 2
        assert "bad name" in err
        assert SECRET not in out + err

    def test_env_values_are_not_echoed_by_validation_errors(self, wf: Wf, workdir: Path) -> None:
        (workdir / "e.toml").write_text(
            f'[tasks.a]\ncmd = "true"\nenv = {{ TOKEN = "{SECRET}", LD_PRELOAD = "{SECRET}2",'
            f' "bad key" = "{SECRET}3" }}\n'
        )
        code, out, err = wf("validate", str(workdir / "e.toml"))
        assert code == 2
        assert "LD_PRELOAD" in out
        assert SECRET not in out + err

    def test_runtime_errors_name_variables_not_their_values(
        self, run_flow: RunFlow, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("API_TOKEN", SECRET)
        cases = [
            '[tasks.a]\ncmd = "echo {{.token}} {{.missing}}"\n',
            '[tasks.a]\ncmd = "true"\nif = "token > 5 && missing == 1"\n',
            '[tasks.a]\ncmd = \'echo "token=other" >> "$WF_OUTPUT"\'\n',
            '[tasks.a]\ncmd = \'echo "bad key=$API_TOKEN" >> "$WF_OUTPUT"\'\n',
            '[tasks.a]\ncmd = \'echo "$API_TOKEN" >> "$WF_OUTPUT"\'\n',
            '[tasks.a]\ncmd = \'echo "failed_task=$API_TOKEN" >> "$WF_OUTPUT"\'\n',
            '[tasks.a]\ncmd = "exit 3"\nenv = { T = "{{.token}}" }\n',
        ]
        for text in cases:
            result = run_flow(text, "--var", f"token={SECRET}")
            assert result.code == 1, text
            errors = " ".join(str(r["error_message"]) for r in result.rows)
            assert SECRET not in result.err + errors, text
        record(
            "security", case="secrets kept out of error messages", cases=len(cases) + 3, held=True
        )
