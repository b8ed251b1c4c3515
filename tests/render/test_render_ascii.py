"""The ascii graph: snapshots at 80 columns without colour, sections, states, highlight, width."""

from __future__ import annotations

import itertools
import re
import time

import pytest

from wf.dag.model import Trigger
from wf.dag.render import render_ascii
from wf.errors import UsageError

ANSI = re.compile(r"\x1b\[[0-9;]*m")
ALL_SECTIONS = {"detail": True, "stats": True, "matrix": True, "forensic": True, "triggers": True}

SITE_RELEASE = """
    name        = "site-release"
    description = "Build, check and publish the documentation site"
    on_failure  = "page-oncall"
    triggers    = [{ type = "cron", config = { schedule = "0 3 * * *" } }]

    [tasks.revision]
    cmd      = "git rev-parse --short HEAD"
    register = "commit"

    [tasks.build]
    name          = "Build site"
    cmd           = "make site OUT=build/{{.commit}}"
    depends_on    = ["revision"]
    timeout       = "15m"
    retries       = 2
    retry_delay   = "10s"
    retry_backoff = 2.0

    [tasks.linkcheck]
    cmd        = 'n=$(./count-broken-links.sh "build/$COMMIT"); echo "broken=$n" >> "$WF_OUTPUT"'
    depends_on = ["build"]
    env        = { COMMIT = "{{.commit}}" }

    [tasks.publish]
    cmd        = 'rsync -a "build/$COMMIT/" "$TARGET"'
    depends_on = ["linkcheck"]
    if         = 'broken == 0 && channel != "dry-run"'
    env        = { COMMIT = "{{.commit}}", TARGET = "{{.target}}" }

    [tasks.page-oncall]
    type = "forensic"
    cmd  = './page.sh "$WHAT"'
"""


@pytest.mark.parametrize(
    "name", ["chain", "diamond", "fan_out_in", "independent", "matrix", "conditional"]
)
def test_reference_shape_matches_snapshot(shapes, snapshot, name):
    snapshot(f"ascii_{name}.txt", render_ascii(shapes[name](), width=80))


def test_global_trap_shape_with_every_section_matches_snapshot(shapes, snapshot):
    snapshot("ascii_global_trap_all.txt", render_ascii(shapes["global_trap"](), **ALL_SECTIONS))


def test_parsed_workflow_with_every_section_matches_snapshot(dag_from_toml, snapshot):
    dag = dag_from_toml(SITE_RELEASE)
    snapshot("ascii_site_release_all.txt", render_ascii(dag, **ALL_SECTIONS))


def test_run_states_match_snapshot(dag_from_toml, snapshot):
    dag = dag_from_toml(SITE_RELEASE)
    states = {"revision": "success", "build": "success", "linkcheck": "failed"}
    snapshot("ascii_site_release_states.txt", render_ascii(dag, states=states))


def test_ascii_stand_ins_match_snapshot(shapes, snapshot):
    text = render_ascii(shapes["matrix"](), unicode=False, highlight="test", states={})
    snapshot("ascii_matrix_plain.txt", text)
    assert text.isascii()


def test_highlight_matches_snapshot(shapes, snapshot):
    snapshot("ascii_diamond_highlight.txt", render_ascii(shapes["diamond"](), highlight="b"))


def test_header_names_workflow_task_count_and_level_count(shapes):
    text = render_ascii(shapes["fan_out_in"]())
    header = text.split("\n\n")[0]
    assert "Workflow: fan-out-in" in header
    assert "Tasks: 5" in header
    assert "Levels: 3" in header


def test_levels_are_separated_by_down_arrows_and_use_kind_icons(shapes):
    text = render_ascii(shapes["matrix"]())
    levels = text.split("Execution Levels")[1].split("Critical Path(s)")[0]
    assert levels.count("↓") == 2
    assert "⬤ setup" in levels
    assert "◈ test[python=3.11,region=eu]" in levels
    assert "▼ report" in levels
    assert "• " not in levels.replace("Legend", "")


def test_one_line_per_node_in_sequential_order(shapes):
    dag = shapes["diamond"]()
    lines = render_ascii(dag).splitlines()
    node_lines = [line for line in lines if re.match(r"^. [⬤◈▼•] ", line)]
    assert [line[4:].split()[0] for line in node_lines] == dag.sequential_order()


def test_conditional_node_is_marked(shapes):
    line = next(
        line for line in render_ascii(shapes["conditional"]()).splitlines() if "publish" in line
    )
    assert "[if]" in line


def test_optional_sections_appear_only_when_asked(shapes):
    dag = shapes["global_trap"]()
    plain = render_ascii(dag)
    for title in ("Forensic Tasks", "Details", "Statistics", "Matrix Nodes", "Triggers"):
        assert title not in plain
    full = render_ascii(dag, **ALL_SECTIONS)
    for title in ("Forensic Tasks", "Details", "Statistics", "Matrix Nodes", "Triggers"):
        assert title in full


def test_triggers_are_marked_not_executed_by_wf(make_dag):
    dag = make_dag(
        {"a": []},
        triggers=[
            Trigger("cron", {"schedule": "0 3 * * *"}),
            Trigger("webhook", {"endpoint": "/x"}),
        ],
    )
    lines = render_ascii(dag, triggers=True).split("Triggers")[1].splitlines()
    cron = next(line for line in lines if "cron" in line)
    assert "schedule=0 3 * * *" in cron
    assert "(not executed by wf)" in cron
    assert "(not executed by wf)" in next(line for line in lines if "webhook" in line)


def test_details_show_every_field(dag_from_toml):
    text = render_ascii(dag_from_toml(SITE_RELEASE), detail=True)
    build = text.split("• build (Build site)")[2].split("\n\n")[0]
    assert "type        normal" in build
    assert "level       1" in build
    assert "command     make site OUT=build/{{.commit}}" in build
    assert "depends on  revision" in build
    assert "timeout     15m" in build
    assert "retries     2 (delay 10s, backoff 2×)" in build
    publish = text.split("▼ publish")[2]
    assert 'condition   broken == 0 && channel != "dry-run"' in publish
    assert "env keys    2" in publish


def test_details_show_description_and_matrix_values(make_dag):
    dag = make_dag({"t": {"matrix": {"py": ["3.11"]}, "description": "Runs the tests"}})
    text = render_ascii(dag, detail=True)
    assert "description Runs the tests" in text
    assert "matrix      py=3.11" in text


def test_multiline_command_shows_first_line_and_count(make_dag):
    text = render_ascii(make_dag({"a": {"cmd": "set -e\nmake\nmake test"}}), detail=True)
    assert "command     set -e  (+2 more lines)" in text


def test_forensic_section_names_global_and_task_traps(make_dag):
    dag = make_dag(
        {
            "a": {"on_failure": "cleanup"},
            "cleanup": {"type": "forensic", "cmd": "rm -rf tmp"},
            "page": {"type": "forensic"},
        },
        on_failure="page",
    )
    section = render_ascii(dag, forensic=True).split("Forensic Tasks")[1]
    assert "cleanup  trap of a" in section
    assert "page  global trap" in section
    assert "command: rm -rf tmp" in section


def test_statistics_count_levels_parallelism_and_matrix(shapes):
    section = render_ascii(shapes["matrix"](), stats=True).split("Statistics")[1]
    assert re.search(r"Widest level\s+4 \(level 1\)", section)
    assert re.search(r"Parallelisable\s+4", section)
    assert re.search(r"Matrix\s+4 expansion\(s\) of 1 task\(s\)", section)
    assert re.search(r"Dependencies\s+8", section)


def test_matrix_section_lists_axes_and_expansions(shapes):
    section = render_ascii(shapes["matrix"](), matrix=True).split("Matrix Nodes")[1]
    assert "test  python (2) × region (2)  → 4" in section
    assert section.count("◈ test[") == 4


def test_states_show_task_icons(shapes):
    states = {
        "a": "success",
        "b": "failed",
        "c": "cancelled",
        "d": "pending",
    }
    text = render_ascii(shapes["diamond"](), states=states)
    assert "✓ success" in text
    assert "✗ failed" in text
    assert "⊗ cancelled" in text
    assert "⊙ pending" in text
    other = render_ascii(shapes["chain"](), states={"a": "running", "b": "skipped", "c": "ready"})
    assert "⟳ running" in other
    assert "⊘ skipped" in other
    assert "→ ready" in other


def test_no_ansi_codes_without_colour(shape):
    assert "\x1b[" not in render_ascii(shape, **ALL_SECTIONS, states={"a": "failed"})


def test_colour_adds_ansi_codes_but_not_text(shapes):
    dag = shapes["diamond"]()
    states = {"a": "success", "b": "failed"}
    coloured = render_ascii(dag, colour=True, states=states, highlight="b")
    assert "\x1b[32m✓ success\x1b[0m" in coloured
    assert "\x1b[31m✗ failed\x1b[0m" in coloured
    assert ANSI.sub("", coloured) == render_ascii(dag, states=states, highlight="b")


def test_highlight_marks_target_and_lineage_in_gutter(shapes):
    lines = render_ascii(shapes["diamond"](), highlight="b").splitlines()
    gutter = {line[4:].split()[0]: line[0] for line in lines if re.match(r"^. [⬤▼•] ", line)}
    assert gutter == {"a": "│", "b": "▶", "c": " ", "d": "│"}
    assert "Highlight: b (1 ancestor, 1 descendant)" in "\n".join(lines)


def test_highlight_of_unknown_task_raises_usage_error(shapes):
    with pytest.raises(UsageError):
        render_ascii(shapes["chain"](), highlight="missing")


def test_every_line_fits_80_columns(shape):
    for line in render_ascii(shape, **ALL_SECTIONS, states={"a": "cancelled"}).splitlines():
        assert len(line) <= 80, line


def test_long_lists_are_cut_and_long_paths_wrapped_to_the_width(make_dag):
    ids = [f"step-number-{i:02d}" for i in range(12)]
    tasks: dict[str, list[str]] = {ids[0]: []}
    for prev, cur in itertools.pairwise(ids):
        tasks[cur] = [prev]
    tasks["sink"] = [f"extra-upstream-task-{i}" for i in range(8)] + [ids[-1]]
    tasks.update({f"extra-upstream-task-{i}": [] for i in range(8)})
    text = render_ascii(make_dag(tasks), **ALL_SECTIONS, width=80)
    for line in text.splitlines():
        assert len(line) <= 80, line
    sink = next(line for line in text.splitlines() if "▼ sink" in line)
    assert sink.endswith("…")
    path_lines = text.split("Critical Path(s)")[1].split("\n\n")[0].splitlines()[2:]
    assert path_lines[0].startswith("  1. step-number-00 → ")
    assert path_lines[1].startswith("     → ")
    assert path_lines[3] == "     → sink  (13 tasks)"
    assert path_lines[4] == "  2. extra-upstream-task-0 → sink  (2 tasks)"


def test_narrow_width_is_respected(shape):
    for line in render_ascii(shape, width=50).splitlines():
        assert len(line) <= 50, line


def test_big_layered_dag_renders_quickly(make_layered):
    dag = make_layered(levels=10, width=100)
    started = time.perf_counter()
    text = render_ascii(dag, **ALL_SECTIONS, highlight="n05_050")
    assert time.perf_counter() - started < 5
    assert text.count("\n  ") > 1000


def test_global_trap_state_is_shown_in_the_header(shapes):
    text = render_ascii(shapes["global_trap"](), states={"__GLOBAL_FAILURE_TRAP__": "failed"})
    assert "Global trap: page-oncall  ✗ failed" in text
