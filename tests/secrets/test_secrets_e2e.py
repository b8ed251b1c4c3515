"""Secrets end to end: the task sees the value; nothing wf writes under its home holds it."""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wf.secrets import MASK

Wf = Callable[..., tuple[int, str, str]]

CHARS = st.characters(
    blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\x00\n\r\x85'\"\\{}$`"
)
secret_values = st.text(CHARS, min_size=2, max_size=16).map(lambda s: "Zq" + s)

# The task gets the token from its environment and the password through {{.pw}}; it checks
# both against their hashes, writes them in the given pieces (each its own write, on stdout or
# stderr, in the given encoding), and hands a third secret on through WF_OUTPUT.
WRITER = r"""
import hashlib, os, sys, time
token = os.environ["API_TOKEN"]
pw = sys.argv[1]
ok = hashlib.sha256(token.encode()).hexdigest() == {token_hash!r}
ok = ok and hashlib.sha256(pw.encode()).hexdigest() == {pw_hash!r}
for value in (token, pw):
    try:
        data = value.encode({encoding!r})
    except UnicodeEncodeError:
        data = value.encode("utf-8")
    data = b"before " + data + b" after\n"
    start = 0
    for i, cut in enumerate(sorted({{c % (len(data) + 1) for c in {cuts!r}}}) + [len(data)]):
        os.write(1 if i % 2 == 0 else 2, data[start:cut])
        start = cut
        time.sleep(0.002)
with open(os.environ["WF_OUTPUT"], "a", encoding="utf-8") as out:
    out.write("secret derived=" + token[::-1] + "x\n")
    out.write("plain=" + pw + "\n")
sys.exit(0 if ok else 1)
"""


def _workflow(token: str, pw: str, encoding: str, cuts: list[int], script: Path) -> str:
    script.write_text(
        WRITER.format(
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            pw_hash=hashlib.sha256(pw.encode()).hexdigest(),
            encoding=encoding,
            cuts=cuts,
        ),
        encoding="utf-8",
    )
    return textwrap.dedent(
        f"""
        secrets = ["API_TOKEN"]

        [tasks.write]
        cmd = '{sys.executable} {script} "{{{{.pw}}}}"'

        [tasks.read]
        depends_on = ["write"]
        cmd = 'echo "got {{{{.derived}}}} and {{{{.plain}}}}"; exit 4'
        """
    )


def _forms(value: str) -> list[bytes]:
    forms = {value.encode("utf-8"), json.dumps(value).encode(), json.dumps(value)[1:-1].encode()}
    with contextlib.suppress(UnicodeEncodeError):
        forms.add(value.encode("latin-1"))
    return sorted(forms)


def _leaks(home: Path, values: list[str]) -> list[str]:
    """Every file under HOME and every text cell of every table that holds one of VALUES."""
    found = []
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path}: {v!r}" for v in values for f in _forms(v) if f in data]
    conn = sqlite3.connect(home / "wf.db")
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for cell in row:
                    text = cell if isinstance(cell, str) else str(cell)
                    found += [f"{table}: {v!r}" for v in values if v in text]
    finally:
        conn.close()
    return found


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    token=secret_values,
    pw=secret_values,
    encoding=st.sampled_from(["utf-8", "latin-1"]),
    cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=6),
)
def test_no_secret_reaches_any_file_or_table(
    wf: Wf,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    token: str,
    pw: str,
    encoding: str,
    cuts: list[int],
) -> None:
    base = tmp_path_factory.mktemp("secret")
    home = base / "home"
    workflow = base / "flow.toml"
    workflow.write_text(_workflow(token, pw, encoding, cuts, base / "writer.py"), encoding="utf-8")
    monkeypatch.setenv("API_TOKEN", token)
    code, out, err = wf(
        "--home",
        str(home),
        "run",
        str(workflow),
        "--secret",
        f"pw={pw}",
        "--print-output",
        "--plain",
    )
    assert code == 1, out + err  # the reader fails on purpose (a failure summary, traps...)
    assert "task read failed" in err
    run_id = out.split("Run ID:", 1)[1].split()[0]
    rows = _db_rows(home, "SELECT task_id, state FROM task_executions")
    assert ("write", "success") in rows, rows  # the task saw both real values
    shown = [out, err]
    code, exported, _ = wf("--home", str(home), "export", run_id)
    assert code == 0
    shown.append(exported)
    code, inspected, _ = wf("--home", str(home), "inspect", run_id, "--json")
    shown.append(inspected)
    html = base / "graph.html"
    wf("--home", str(home), "graph", str(workflow), "-f", "html", "--run", run_id, "-o", str(html))
    derived = token[::-1] + "x"
    values = [token, pw, derived]
    assert _leaks(home, values) == []
    for text in shown:
        assert not any(v in text for v in values), text
    assert not any(v in html.read_text(encoding="utf-8") for v in values)
    assert MASK in out


def _db_rows(home: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(home / "wf.db")
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


def test_a_missing_declared_secret_stops_before_any_run(
    wf: Wf, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("API_TOKEN", raising=False)
    monkeypatch.delenv("DB_PASSWORD", raising=False)
    workflow = tmp_path / "flow.toml"
    workflow.write_text('secrets = ["API_TOKEN", "DB_PASSWORD"]\n[tasks.a]\ncmd = "true"\n')
    home = tmp_path / "home"
    code, _, err = wf("--home", str(home), "run", str(workflow))
    assert code == 2
    assert "missing secret(s) API_TOKEN, DB_PASSWORD" in err
    assert not (home / "wf.db").exists() or _db_rows(home, "SELECT id FROM runs") == []


def test_an_env_file_provides_secrets_and_must_be_private(
    wf: Wf, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("API_TOKEN", raising=False)
    workflow = tmp_path / "flow.toml"
    workflow.write_text(
        'secrets = ["API_TOKEN"]\n[tasks.a]\ncmd = \'test "$API_TOKEN" = "from-the-file"\'\n'
    )
    env_file = tmp_path / "secrets.env"
    env_file.write_text("API_TOKEN=from-the-file\n")
    env_file.chmod(0o644)
    home = tmp_path / "home"
    code, _, err = wf("--home", str(home), "run", str(workflow), "--env-file", str(env_file))
    assert code == 2
    assert "readable or writable by others" in err
    env_file.chmod(0o600)
    code, out, err = wf("--home", str(home), "run", str(workflow), "--env-file", str(env_file))
    assert code == 0, out + err


def test_resume_asks_for_the_secret_variables_again(
    wf: Wf, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    workflow = tmp_path / "flow.toml"
    workflow.write_text(
        textwrap.dedent(
            """
            [tasks.a]
            cmd = 'echo "{{.pw}}" > seen.txt; test -e go'
            """
        )
    )
    home = tmp_path / "home"
    code, out, _ = wf("--home", str(home), "run", str(workflow), "--secret", "pw=first-pass")
    assert code == 1
    run_id = out.split("Run ID:", 1)[1].split()[0]
    stored = _db_rows(home, "SELECT variable_value FROM context_snapshots WHERE variable_name='pw'")
    assert stored
    assert {v for (v,) in stored} == {MASK}
    (tmp_path / "go").touch()
    code, out, err = wf("--home", str(home), "resume", run_id)
    assert code == 2
    assert "secret variable(s) pw" in err
    assert "--secret" in err
    code, out, err = wf("--home", str(home), "resume", run_id, "--secret", "pw=second-pass")
    assert code == 0, out + err
    assert (tmp_path / "seen.txt").read_text().strip() == "second-pass"
    assert _leaks(home, ["first-pass", "second-pass"]) == []


def test_a_task_that_handles_a_secret_is_not_cached(
    wf: Wf, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_text("data\n")
    workflow = tmp_path / "flow.toml"
    workflow.write_text(
        textwrap.dedent(
            """
            [tasks.build]
            cmd     = 'echo "{{.pw}}" >> r.txt; cp in.txt o.txt; echo "k={{.pw}}" >>"$WF_OUTPUT"'
            inputs  = ["in.txt"]
            outputs = ["o.txt"]

            [tasks.plain]
            cmd     = 'echo run >> plain.txt; cp in.txt plain-out.txt'
            inputs  = ["in.txt"]
            outputs = ["plain-out.txt"]
            """
        )
    )
    home = tmp_path / "home"
    for _ in range(2):
        code, out, err = wf(
            "--home", str(home), "run", str(workflow), "--secret", "pw=cache-secret"
        )
        assert code == 0, out + err
    assert (tmp_path / "r.txt").read_text().split() == ["cache-secret", "cache-secret"]
    assert (tmp_path / "plain.txt").read_text().split() == ["run"]  # the cache works
    assert _leaks(home, ["cache-secret"]) == []


def test_progress_events_are_masked_but_name_their_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wf.dag import load_dag
    from wf.executor import ProgressEvent, executor_for_mode
    from wf.secrets import Secrets
    from wf.storage import Store

    monkeypatch.chdir(tmp_path)
    workflow = tmp_path / "flow.toml"
    workflow.write_text(
        'secrets = ["TOKEN"]\n[tasks.leak]\ncmd = \'echo "t=$TOKEN"; echo "$TOKEN" >&2; exit 3\'\n'
    )
    events: list[ProgressEvent] = []
    with Store(tmp_path / "wf.db") as store:
        executor = executor_for_mode("sequential", store, 1, logs_dir=tmp_path / "logs")
        run = executor.execute(
            load_dag(workflow),
            progress=events.append,
            print_output=True,
            secrets=Secrets(env={"TOKEN": "tok-in-events"}),
        )
    assert str(run.status) == "failed"
    (output,) = [e for e in events if e.kind == "task_output"]
    assert output.task_id == "leak"
    assert output.output is not None
    assert "t=***" in output.output
    assert all("tok-in-events" not in repr(e) for e in events)
