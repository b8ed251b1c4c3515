"""``wf graph WORKFLOW`` in all five formats, exports, and ``--run`` (docs/cli.md#wf-graph)."""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_samples import DIAMOND, FAILING, WriteWorkflow

Wf = Callable[..., tuple[int, str, str]]

GRAPH_KEYS = {
    "name",
    "total_tasks",
    "execution_levels",
    "nodes",
    "root_nodes",
    "leaf_nodes",
    "global_trap",
    "has_forensic_tasks",
    "has_matrix_tasks",
}
NODE_KEYS = {
    "id",
    "task_name",
    "command",
    "type",
    "level",
    "dependencies",
    "dependents",
    "is_expanded",
    "matrix_vars",
    "timeout",
    "retries",
    "is_forensic",
    "can_parallelise",
    "condition",
}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def diamond(write_workflow: WriteWorkflow) -> Path:
    return write_workflow("diamond", DIAMOND)


@pytest.mark.usefixtures("diamond")
class TestFormats:
    def test_ascii_is_the_default(self, wf: Wf) -> None:
        code, out, _ = wf("graph", "diamond")
        assert code == 0
        assert "Execution Levels" in out
        assert "Critical Path(s)" in out
        assert "⬤ a" in out
        assert "▼ d" in out
        assert "↓" in out

    def test_ascii_optional_sections(self, wf: Wf) -> None:
        code, out, _ = wf("graph", "diamond", "--detail", "--stats", "--triggers")
        assert code == 0
        assert "echo b" in out  # the details section shows commands

    def test_dot(self, wf: Wf) -> None:
        code, out, _ = wf("graph", "diamond", "-f", "dot")
        assert code == 0
        assert out.startswith("digraph diamond {")
        assert "rankdir=LR" in out
        assert out.count("rank=same") == 3
        assert re.search(r'"a" -> "b" \[[^]]*dashed', out)

    def test_mermaid(self, wf: Wf) -> None:
        code, out, _ = wf("graph", "diamond", "--format", "mermaid")
        assert code == 0
        assert out.startswith("```mermaid\ngraph TD\n")
        assert "-->|conditional|" in out
        assert out.rstrip().endswith("```")

    def test_json(self, wf: Wf) -> None:
        code, out, _ = wf("graph", "diamond", "-f", "json")
        assert code == 0
        data = json.loads(out)
        assert set(data) == GRAPH_KEYS
        assert data["name"] == "diamond"
        assert data["total_tasks"] == 4
        assert data["root_nodes"] == ["a"]
        assert data["leaf_nodes"] == ["d"]
        assert data["execution_levels"][1] == {
            "level_index": 1,
            "tasks": ["b", "c"],
            "parallelisable_count": 2,
        }
        nodes = {n["id"]: n for n in data["nodes"]}
        assert set(nodes) == {"a", "b", "c", "d"}
        assert all(set(n) == NODE_KEYS for n in data["nodes"])
        assert nodes["b"]["condition"] == 'x == "a"'
        assert nodes["d"]["dependencies"] == ["b", "c"]

    def test_format_name_is_case_insensitive(self, wf: Wf) -> None:
        code, out, _ = wf("graph", "diamond", "-f", "DOT")
        assert code == 0
        assert out.startswith("digraph")

    def test_html_is_written_to_the_current_directory(self, wf: Wf, workdir: Path) -> None:
        code, out, _ = wf("graph", "diamond", "-f", "html")
        assert code == 0
        path = Path("diamond_graph.html")
        assert (workdir / path).is_file()
        assert f"✓ Graph written to {path}" in out
        assert mode(workdir / path) == 0o600

    def test_html_is_self_contained(self, wf: Wf, workdir: Path) -> None:
        assert wf("graph", "diamond", "-f", "html")[0] == 0
        html = (workdir / "diamond_graph.html").read_text(encoding="utf-8")
        assert "<svg" in html
        assert "<script" in html
        assert "<style" in html
        assert not re.search(r"(?i)\b(?:https?|ftp):", html)
        assert not re.search(r"(?i)(?:src|href)\s*=\s*[\"']?(?://|[a-z]+:)", html)
        assert not re.search(r"(?i)@import|<link\b|<script[^>]+src=", html)

    def test_html_export_to_a_chosen_file(self, wf: Wf, workdir: Path) -> None:
        code, out, _ = wf("graph", "diamond", "-f", "html", "--export", "out/g.html")
        assert code == 0
        assert (workdir / "out" / "g.html").is_file()
        assert mode(workdir / "out" / "g.html") == 0o600
        assert not (workdir / "diamond_graph.html").exists()
        assert "Graph written to out/g.html" in out

    @pytest.mark.parametrize("fmt", ["ascii", "dot", "mermaid", "json"])
    def test_export_writes_a_private_file_and_names_it_on_stderr(
        self, wf: Wf, workdir: Path, fmt: str
    ) -> None:
        code, out, err = wf("graph", "diamond", "-f", fmt, "-o", "graph.out")
        assert code == 0
        target = workdir / "graph.out"
        assert out == ""
        assert str(target) in err
        assert mode(target) == 0o600
        text = target.read_text(encoding="utf-8")
        assert "\x1b[" not in text
        if fmt == "json":
            assert json.loads(text)["name"] == "diamond"

    def test_unsupported_format_is_a_usage_error(self, wf: Wf) -> None:
        code, out, err = wf("graph", "diamond", "-f", "png")
        assert code == 2
        assert "unsupported format" in err
        assert "Run 'wf graph --help' for usage." in err
        assert out == ""


def test_invalid_workflow_exits_2(wf: Wf, write_workflow: WriteWorkflow) -> None:
    write_workflow("cycle", '[tasks.a]\ncmd="true"\ndepends_on=["a"]\n')
    code, _, err = wf("graph", "cycle")
    assert code == 2
    assert "Error: workflow 'cycle' is invalid (1 error)" in err
    assert "  - circular dependency detected: a -> a" in err


def test_graph_by_path(wf: Wf, workdir: Path) -> None:
    (workdir / "here.toml").write_text('[tasks.only]\ncmd = "true"\n', encoding="utf-8")
    code, out, _ = wf("graph", "here.toml", "-f", "json")
    assert code == 0
    assert json.loads(out)["name"] == "here"


def test_run_adds_each_nodes_state(
    wf: Wf, write_workflow: WriteWorkflow, last_run_id: Callable[[], str]
) -> None:
    write_workflow("failing", FAILING)
    assert wf("run", "failing")[0] == 1
    code, out, err = wf("graph", "failing", "-f", "json", "--run", last_run_id()[:10])
    assert code == 0, err
    states = {n["id"]: n.get("state") for n in json.loads(out)["nodes"]}
    assert states["prepare"] == "success"
    assert states["build"] == "failed"
    assert states["publish"] is None  # never started


def test_run_with_html_and_ascii_succeeds(
    wf: Wf, write_workflow: WriteWorkflow, last_run_id: Callable[[], str], workdir: Path
) -> None:
    write_workflow("failing", FAILING)
    wf("run", "failing")
    run_id = last_run_id()
    assert wf("graph", "failing", "--run", run_id)[0] == 0
    assert wf("graph", "failing", "-f", "html", "--run", run_id)[0] == 0
    assert (workdir / "failing_graph.html").is_file()


def test_run_that_does_not_exist_exits_1(wf: Wf, diamond: Path) -> None:
    wf("init")
    code, _, err = wf("graph", "diamond", "--run", "nosuchrun")
    assert code == 1
    assert "Error: run not found: nosuchrun" in err


def test_missing_workflow_exits_1(wf: Wf, workflows_dir: Path) -> None:
    code, out, err = wf("graph", "absent")
    assert code == 1
    assert "Error: workflow not found: absent" in err
    assert out == ""
