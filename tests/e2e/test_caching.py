"""End to end: incremental runs through the CLI (docs/caching.md)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import CliResult

Wf = Callable[..., CliResult]

BUILD = """
name = "cbuild"

[tasks.gen]
cmd = '''
mkdir -p gen && cat cfg/*.txt > gen/config.h
echo "flavour=$(head -c 5 cfg/a.txt)" >> "$WF_OUTPUT"
'''
inputs = ["cfg/*.txt"]
outputs = ["gen/config.h"]

[tasks.compile]
depends_on = ["gen"]
cmd = 'mkdir -p obj && cat gen/config.h src/**/*.c > obj/app.o && echo "{{.flavour}}" > obj/flavour'
inputs = ["gen/config.h", "src/**/*.c"]
outputs = ["obj/app.o", "obj/flavour"]

[tasks.docs]
cmd = 'mkdir -p html && cat doc/*.md > html/index.html'
inputs = ["doc/*.md"]
outputs = ["html/index.html"]

[tasks.link]
depends_on = ["compile"]
cmd = 'mkdir -p bin && cp obj/app.o bin/app'
inputs = ["obj/app.o"]
outputs = ["bin/app"]

[tasks.report]
depends_on = ["link", "docs"]
cmd = 'echo built {{.flavour}}'
"""


@pytest.fixture
def project(workdir: Path) -> Path:
    files = {
        "cfg/a.txt": "alpha\n",
        "cfg/b.txt": "beta\n",
        "src/main.c": "int main(void) { return 0; }\n",
        "src/lib/util.c": "int util(void) { return 1; }\n",
        "doc/guide.md": "# Guide\n",
        "build.toml": BUILD,
    }
    for name, text in files.items():
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return workdir


def run(wf: Wf, *args: str, expect: int = 0) -> dict[str, Any]:
    """``wf run build.toml --json``: the run, its attempt rows and its cached nodes."""
    code, out, err = wf("run", "build.toml", "--json", *args)
    assert code == expect, f"{out}\n{err}"
    data: dict[str, Any] = json.loads(out)
    return data


def ran(data: dict[str, Any]) -> set[str]:
    return {t["task_id"] for t in data["tasks"]}


def cached(data: dict[str, Any]) -> set[str]:
    return {t["task_id"] for t in data.get("cached", [])}


ALL = {"gen", "compile", "docs", "link", "report"}
WITH_INPUTS = ALL - {"report"}


@pytest.mark.parametrize("mode", [[], ["--parallel"], ["-j", "3"]], ids=["seq", "par", "ws"])
def test_second_run_does_nothing_that_is_up_to_date(wf: Wf, project: Path, mode: list[str]) -> None:
    first = run(wf, *mode)
    assert ran(first) == ALL
    assert cached(first) == set()
    second = run(wf, *mode)
    assert cached(second) == WITH_INPUTS
    assert ran(second) == {"report"}  # no inputs declared: always runs
    assert second["run"]["tasks_cached"] == 4
    assert second["run"]["status"] == "success"


def test_registered_variables_are_restored_for_dependents(wf: Wf, project: Path) -> None:
    run(wf)
    code, out, err = wf("run", "build.toml", "--plain", "--print-output")
    assert code == 0, err
    assert "built alpha" in out  # report reads "flavour", registered by the cached gen
    assert "≡ cached gen" in out
    assert "Tasks:    5 total  1✓  0✗  0⊘  4 up to date" in out


def test_one_changed_byte_reruns_that_task_and_its_dependents(wf: Wf, project: Path) -> None:
    run(wf)
    (project / "src/lib/util.c").write_text("int util(void) { return 2; }\n")
    second = run(wf)
    assert ran(second) == {"compile", "link", "report"}
    assert cached(second) == {"gen", "docs"}
    third = run(wf)
    assert cached(third) == WITH_INPUTS


def test_a_dependency_that_ran_makes_its_dependents_run(wf: Wf, project: Path) -> None:
    run(wf)
    (project / "cfg/b.txt").write_text("gamma\n")
    second = run(wf)
    assert ran(second) == {"gen", "compile", "link", "report"}
    _, out, _ = wf("audit", second["run"]["id"], "--json", "--type", "task_started")
    reasons = {e["event_data"]["task_id"]: e["event_data"].get("reason") for e in json.loads(out)}
    assert reasons["gen"] == "input changed: cfg/b.txt"
    assert reasons["compile"] == "input changed: gen/config.h"


def test_a_deleted_output_makes_its_task_run(wf: Wf, project: Path) -> None:
    run(wf)
    os.remove(project / "html/index.html")
    code, out, _ = wf("run", "build.toml", "--dry-run", "--explain")
    assert code == 0
    assert "run   docs                     output missing: html/index.html" in out
    second = run(wf)
    assert ran(second) == {"docs", "report"}
    assert (project / "html/index.html").exists()


def test_a_rewrite_keeping_size_and_mtime_is_detected(wf: Wf, project: Path) -> None:
    run(wf)
    path = project / "doc/guide.md"
    before = path.stat()
    path.write_text("# GUIDE\n")  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # as cp -p / touch -r leave it
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    second = run(wf)
    assert ran(second) == {"docs", "report"}


def test_cp_p_of_other_content_is_detected(wf: Wf, project: Path) -> None:
    run(wf)
    other = project / "other.md"
    other.write_text("# Other\n")  # same size as the guide
    shutil.copy2(other, project / "doc/guide.md")  # cp -p: content and mtime of the copy
    second = run(wf)
    assert "docs" in ran(second)


def test_a_glob_that_gains_a_file_makes_its_task_run(wf: Wf, project: Path) -> None:
    run(wf)
    (project / "src/lib/extra").mkdir()
    (project / "src/lib/extra/new.c").write_text("int n;\n")
    code, out, _ = wf("run", "build.toml", "--dry-run", "--explain")
    assert code == 0
    assert "run   compile                  input added: src/lib/extra/new.c" in out
    assert "run   link                     dependency ran: compile" in out
    assert "skip  docs                     up to date" in out
    second = run(wf)
    assert ran(second) == {"compile", "link", "report"}


def test_a_failed_attempt_writes_no_record_and_keeps_the_old_one(
    wf: Wf, project: Path, wf_home: Path
) -> None:
    run(wf)
    from wf.storage import Store

    with Store(wf_home / "wf.db") as store:
        before = store.cache_records("cbuild")
    (project / "build.toml").write_text(BUILD.replace("cp obj/app.o bin/app", "exit 3"))
    failed = run(wf, expect=1)
    assert "link" in ran(failed)
    with Store(wf_home / "wf.db") as store:
        after = store.cache_records("cbuild")
    assert after["link"].to_dict() == before["link"].to_dict()  # not replaced by the failure
    assert after["link"].run_id == before["link"].run_id


def test_a_first_run_that_fails_writes_no_record(wf: Wf, workdir: Path, wf_home: Path) -> None:
    (workdir / "in.txt").write_text("x")
    (workdir / "bad.toml").write_text(
        'name = "bad"\n[tasks.t]\ncmd = "exit 1"\ninputs = ["in.txt"]\n'
    )
    code, _, _ = wf("run", "bad.toml", "--plain")
    assert code == 1
    from wf.storage import Store

    with Store(wf_home / "wf.db") as store:
        assert store.cache_records("bad") == {}


def test_force_and_force_task(wf: Wf, project: Path) -> None:
    run(wf)
    assert ran(run(wf, "--force")) == ALL
    second = run(wf, "--force-task", "compile")
    assert ran(second) == {"compile", "link", "report"}
    code, _, err = wf("run", "build.toml", "--force-task", "nope")
    assert code == 2
    assert "unknown task nope in --force-task" in err


def test_explain_gives_the_first_reason_of_every_node(wf: Wf, project: Path) -> None:
    code, out, _ = wf("run", "build.toml", "--dry-run", "--explain")
    assert code == 0
    assert "run   gen                      no earlier success" in out
    assert "run   report                   no inputs declared" in out
    run(wf)
    (project / "build.toml").write_text(BUILD.replace("cat doc/*.md", "cat -s doc/*.md"))
    code, out, _ = wf("run", "build.toml", "--dry-run", "--explain", "--json")
    explained = {e["id"]: e for e in json.loads(out)["explain"]}
    assert explained["docs"] == {"id": "docs", "run": True, "reason": "command changed"}
    assert explained["gen"]["run"] is False
    code, out, _ = wf("run", "build.toml", "--explain", "--plain")
    assert "→ docs" in out
    assert "(command changed)" in out
    assert "(no inputs declared)" in out


def test_cached_nodes_show_in_inspect_runs_diff_graph_and_audit(wf: Wf, project: Path) -> None:
    first = run(wf)["run"]["id"]
    second = run(wf)["run"]["id"]
    code, out, _ = wf("inspect", second)
    assert "≡ cached" in out
    assert "4 up to date" in out
    code, out, _ = wf("inspect", second, "--json")
    assert {c["task_id"] for c in json.loads(out)["cached"]} == WITH_INPUTS
    code, out, _ = wf("runs", "--json")
    assert json.loads(out)["runs"][0]["tasks_cached"] == 4
    code, out, _ = wf("diff", first, second, "--json")
    states = {t["task_id"]: (t["a"]["state"], t["b"]["state"]) for t in json.loads(out)["tasks"]}
    assert states["gen"] == ("success", "cached")
    assert states["report"] == ("success", "success")
    code, out, _ = wf("graph", "build.toml", "--run", second, "-f", "mermaid")
    assert code == 0
    assert "cached" in out
    code, out, _ = wf("audit", second, "--json", "--type", "task_cached")
    assert {e["event_data"]["task_id"] for e in json.loads(out)} == WITH_INPUTS


def _failed_at_report(wf: Wf, project: Path) -> str:
    """A run in which every task with inputs was up to date and report failed; its ID."""
    run(wf)
    broken = BUILD.replace("echo built {{.flavour}}", "test -f fixed && echo built {{.flavour}}")
    (project / "build.toml").write_text(broken)
    failed = run(wf, expect=1)
    assert cached(failed) == WITH_INPUTS
    (project / "fixed").write_text("")
    return str(failed["run"]["id"])


def test_resume_honours_the_cache_for_nodes_it_runs_again(wf: Wf, project: Path) -> None:
    code, out, err = wf("resume", _failed_at_report(wf, project), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["run"]["status"] == "success"
    assert {t["task_id"] for t in data["tasks"]} == {"report"}  # nothing else got a row


def test_resume_force_ignores_every_cache_record(wf: Wf, project: Path) -> None:
    code, out, err = wf("resume", _failed_at_report(wf, project), "--json", "--force")
    assert code == 0, err
    assert {t["task_id"] for t in json.loads(out)["tasks"]} == ALL


def test_resume_force_task_ignores_one_record(wf: Wf, project: Path) -> None:
    run_id = _failed_at_report(wf, project)
    code, out, err = wf("resume", run_id, "--json", "--force-task", "gen")
    assert code == 0, err
    data = json.loads(out)
    # gen is forced; compile and link then run because a dependency ran; docs stays cached.
    assert {t["task_id"] for t in data["tasks"]} == {"gen", "compile", "link", "report"}
    assert data["run"]["tasks_cached"] == 4 + 1  # the first attempt's four, docs again


def test_resume_force_task_names_a_known_task(wf: Wf, project: Path) -> None:
    code, _, err = wf("resume", _failed_at_report(wf, project), "--force-task", "nope")
    assert code == 2
    assert "unknown task nope in --force-task" in err


def test_cache_clear_and_health(wf: Wf, project: Path) -> None:
    run(wf)
    code, out, _ = wf("health", "--json")
    assert json.loads(out)["cache"]["records"] == 4
    code, out, _ = wf("cache", "clear", "cbuild")
    assert (code, out.strip()) == (0, "Cleared 4 cache records of workflow cbuild")
    assert ran(run(wf)) == ALL


def test_outputs_without_inputs_is_invalid(wf: Wf, workdir: Path) -> None:
    (workdir / "o.toml").write_text('[tasks.t]\ncmd = "true"\noutputs = ["x"]\n')
    code, out, err = wf("validate", "o.toml")
    assert code == 2
    assert 'key "outputs" needs "inputs"' in out + err


@pytest.mark.slow
def test_concurrent_runs_of_one_workflow_keep_the_records_whole(
    project: Path, wf_home: Path
) -> None:
    # Each task replaces its output by a rename, so that a concurrent run reading it sees
    # a whole file (a plain `>` lets another run hash a half-written input: its record would
    # then rightly differ from the final file, and the last run below would run that node).
    text = (project / "build.toml").read_text()
    for target in ("gen/config.h", "obj/app.o", "obj/flavour"):
        text = text.replace(f"> {target}", f"> {target}.$$ && mv {target}.$$ {target}")
    text = text.replace("cp obj/app.o bin/app", "cp obj/app.o bin/app.$$ && mv bin/app.$$ bin/app")
    (project / "build.toml").write_text(text)
    env = dict(os.environ, WF_HOME=str(wf_home), NO_COLOR="1")
    cmd = [sys.executable, "-m", "wf", "run", "build.toml", "--plain", "-j", "2"]
    procs = [
        subprocess.Popen(cmd, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, (out, err)
    from wf.storage import Store

    with Store(wf_home / "wf.db") as store:
        records = store.cache_records("cbuild")
        assert set(records) == WITH_INPUTS
        for rec in records.values():
            assert rec.input_manifest
            assert rec.cache_key.startswith("v1:")
    result = subprocess.run(
        [*cmd[:-2], "--json"], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
    data = json.loads(result.stdout)
    assert {t["task_id"] for t in data["cached"]} == WITH_INPUTS


def test_a_cached_run_makes_no_log_directories_for_up_to_date_tasks(
    wf: Wf, workdir: Path, wf_home: Path
) -> None:
    """Log directories are made ahead for runs of 16 nodes or more; not for nodes that have
    a cache record (they are likely up to date and never write a log)."""
    (workdir / "in.txt").write_text("x\n")
    lines = ['name = "many"']
    for i in range(20):
        lines += [f"[tasks.t{i:02d}]", f'cmd = "cp in.txt out{i:02d}.txt"', 'inputs = ["in.txt"]']
        lines += [f'outputs = ["out{i:02d}.txt"]']
    lines += ["[tasks.always]", 'cmd = "true"']
    (workdir / "many.toml").write_text("\n".join(lines) + "\n")
    first = json.loads(wf("run", "many.toml", "--json").out)
    assert len(first["tasks"]) == 21
    code, out, err = wf("run", "many.toml", "--json", "--force-task", "t03")
    assert code == 0, err
    second = json.loads(out)
    assert {t["task_id"] for t in second["tasks"]} == {"t03", "always"}
    run_logs = wf_home / "logs" / second["run"]["id"]
    assert sorted(p.name for p in run_logs.iterdir()) == ["always", "t03"]
