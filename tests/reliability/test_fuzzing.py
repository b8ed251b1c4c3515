"""Fuzzing at the command line (hypothesis): hostile input gets a documented error, never a
traceback and never an "internal error".

Library-level properties (random conditions, templates and TOML documents raise only wf
errors) live in tests/contextmap and tests/dag; here the same kinds of input go through
``wf.cli.main(argv)``: mutated copies of the shipped examples, ``if`` conditions and templates
in real runs, ``--var`` names and values, and whole argument vectors. Every exit code must be
0, 1 or 2 (docs/cli.md#global-options), and every failure must print an ``Error:`` line.

Fast mode uses fixed examples (``derandomize``) and modest counts; ``WF_SOAK=1`` draws fresh
random examples, many more of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import SOAK, record, scale

from wf.contextmap import RESERVED_NAMES, ContextMap, ContextMapError

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.toml"))

Wf = Callable[..., Any]


def fuzz_settings(fast: int, soak: int) -> settings:
    return settings(
        max_examples=scale(fast, soak),
        deadline=None,
        derandomize=not SOAK,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


_counts: dict[str, int] = {}


def count(name: str) -> None:
    _counts[name] = _counts.get(name, 0) + 1


@pytest.fixture(scope="module", autouse=True)
def _report_counts() -> Any:
    yield
    for name, n in sorted(_counts.items()):
        record("fuzz", target=name, inputs=n)


def check(code: int, out: str, err: str, *, allowed: tuple[int, ...] = (0, 1, 2)) -> None:
    """The invariants of every fuzzed invocation."""
    text = out + err
    assert code in allowed, f"exit {code}\n{text}"
    assert "Traceback" not in text, text
    assert "internal error" not in text, text
    if code != 0:
        assert any(line.startswith("Error: ") for line in err.splitlines()), text


# -- TOML: mutations of the shipped examples -------------------------------------------------------
FRAGMENTS = [
    "{{.x}}",
    "{{",
    "}}",
    "[",
    "]",
    '"',
    "'",
    "'''",
    "=",
    "\n",
    "\\",
    "#",
    ",",
    "\x00",
    "é",
    "🙂",
    'depends_on = ["nope"]',
    'depends_on = ["split", "split"]',
    "matrix = { n = [] }",
    "matrix = { n = [1, 1] }",
    "retries = -1",
    "retries = 1e309",
    'timeout = "1x"',
    'timeout = "-1s"',
    'if = "a &&"',
    'if = "((("',
    'type = "forensic"',
    'on_failure = "missing"',
    'register = "a b"',
    'working_dir = "/proc"',
    'env = { LD_PRELOAD = "x" }',
    "[tasks.extra]",
    '[tasks.extra]\ncmd = "true"\ndepends_on = ["extra"]',
    'name = "../x"',
    "tasks = 1",
    'triggers = [{ cron = "* * *" }]',
]


@st.composite
def mutated_example(draw: st.DrawFn) -> tuple[str, str]:
    path = draw(st.sampled_from(EXAMPLES))
    text = path.read_text()
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "insert", "duplicate", "swap", "replace"]))
        lines = text.split("\n")
        if op == "delete":
            start = draw(st.integers(0, len(text)))
            text = text[:start] + text[start + draw(st.integers(1, 40)) :]
        elif op == "insert":
            at = draw(st.integers(0, len(text)))
            piece = draw(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)))
            text = text[:at] + piece + text[at:]
        elif op == "duplicate":
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
            text = "\n".join(lines)
        elif op == "swap":
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
        else:
            at = draw(st.integers(0, max(0, len(text) - 1)))
            text = text[:at] + draw(st.characters()) + text[at + 1 :]
    return path.name, text


@fuzz_settings(60, 1500)
@given(case=mutated_example(), fmt=st.sampled_from(["ascii", "json", "dot", "mermaid", "html"]))
def test_mutated_examples_get_documented_errors_only(
    wf: Wf, workdir: Path, case: tuple[str, str], fmt: str
) -> None:
    _, text = case
    path = workdir / "mutant.toml"
    try:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    except UnicodeEncodeError:
        return
    validated = wf("validate", str(path))
    check(*validated, allowed=(0, 2))
    planned = wf("run", str(path), "--dry-run", "--json")
    check(*planned, allowed=(0, 2))
    assert (validated.code == 0) == (planned.code == 0), (validated, planned)
    if planned.code == 0:
        json.loads(planned.out)
    drawn = wf("graph", str(path), "-f", fmt, "-o", str(workdir / f"graph.{fmt}"))
    check(*drawn, allowed=(0, 2))
    assert (drawn.code == 0) == (planned.code == 0)
    count("mutated example workflows (validate, dry run, graph)")


# -- conditions and templates in real runs ---------------------------------------------------------
CONDITION_TOKENS = [
    "a",
    "b",
    "n",
    "missing",
    "1",
    "2.5",
    "-3",
    '"x"',
    "'y'",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
    "!",
    "(",
    ")",
    "true",
    "false",
    " ",
    "{{.a}}",
    "=",
    "&",
    "|",
    '"',
    "\\",
]
conditions = st.one_of(
    st.lists(st.sampled_from(CONDITION_TOKENS), min_size=1, max_size=9).map(" ".join),
    st.text(max_size=20),
)


def toml_string(value: str) -> str:
    """VALUE as a TOML basic string (JSON escapes are valid TOML escapes)."""
    return json.dumps(value)


def no_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@fuzz_settings(40, 600)
@given(expr=conditions.filter(no_surrogates))
def test_fuzzed_conditions_validate_and_run_without_crashing(
    wf: Wf, workdir: Path, expr: str
) -> None:
    path = workdir / "cond.toml"
    path.write_text(f'name = "cond"\n[tasks.t]\ncmd = "echo ran"\nif = {toml_string(expr)}\n')
    validated = wf("validate", str(path))
    check(*validated, allowed=(0, 2))
    ran = wf("run", str(path), "--plain", "--var", "a=1", "--var", "b=x", "--var", "n=10")
    check(*ran)
    if validated.code == 2:
        assert ran.code == 2
    else:
        # A valid condition either runs or skips the task, or fails it early at run time.
        assert ran.code in (0, 1)
        if ran.code == 1:
            assert "condition evaluation failed" in ran.out + ran.err
    count("if conditions (validate and a real run)")


TEMPLATE_TOKENS = ["{{.a}}", "{{.b}}", "{{.missing}}", "{{", "}}", "{{.}}", "{{ .a }}", "{", "}"]
templates = st.lists(
    st.one_of(st.sampled_from(TEMPLATE_TOKENS), st.text(max_size=6)), max_size=6
).map("".join)


@fuzz_settings(40, 600)
@given(template=templates.filter(no_surrogates))
def test_fuzzed_templates_interpolate_exactly_or_fail_early(
    wf: Wf, workdir: Path, template: str
) -> None:
    path = workdir / "tpl.toml"
    path.write_text(
        'name = "tpl"\n[tasks.t]\ncmd = \'printf "%s" "$V"\'\n'
        f"env = {{ V = {toml_string(template)} }}\n"
    )
    validated = wf("validate", str(path))
    check(*validated, allowed=(0, 2))
    ran = wf("run", str(path), "--plain", "--var", "a=1", "--var", "b={{.a}}")
    check(*ran)
    if validated.code == 2:
        assert ran.code == 2
        return
    reference = ContextMap()
    reference.set("__runtime__", "a", "1")
    reference.set("__runtime__", "b", "{{.a}}")
    try:
        expected: str | None = reference.interpolate(template)
    except ContextMapError:
        expected = None
    if expected is None or "\x00" in expected:
        assert ran.code == 1
        assert "interpolation failed" in ran.out + ran.err
    else:
        assert ran.code == 0, ran
        assert _last_log(wf) == expected.encode()
    count("templates in env values (validate and a real run)")


def _last_log(wf: Wf) -> bytes:
    """The last attempt's log; an attempt that printed nothing has no file: empty
    (docs/executors.md, "How a task runs")."""
    run_id = json.loads(wf("runs", "--json", "-l", "1").out)["runs"][0]["id"]
    rows = json.loads(wf("inspect", run_id, "--json").out)["tasks"]
    log = Path(rows[-1]["log_path"])
    return log.read_bytes() if log.exists() else b""


# -- --var -----------------------------------------------------------------------------------------
@fuzz_settings(40, 600)
@given(value=st.text(max_size=40))
def test_fuzzed_var_values_reach_the_task_byte_for_byte(wf: Wf, workdir: Path, value: str) -> None:
    path = workdir / "var.toml"
    path.write_text('name = "var"\n[tasks.t]\ncmd = \'printf "%s" "$V"\'\nenv = { V = "{{.k}}" }\n')
    ran = wf("run", str(path), "--plain", "--var", f"k={value}")
    check(*ran)
    if not no_surrogates(value):
        assert ran.code == 2
        assert "not valid UTF-8" in ran.err
    elif "\x00" in value:
        assert ran.code == 1
        assert "NUL byte" in ran.out + ran.err
    else:
        assert ran.code == 0, ran
        assert _last_log(wf) == value.encode()
    count("--var values (real runs)")


@fuzz_settings(60, 1000)
@given(key=st.text(max_size=12), value=st.text(max_size=12))
def test_fuzzed_var_names_are_accepted_or_rejected_as_usage_errors(
    wf: Wf, workdir: Path, key: str, value: str
) -> None:
    path = workdir / "names.toml"
    path.write_text('name = "names"\n[tasks.t]\ncmd = "true"\n')
    planned = wf("run", str(path), "--dry-run", "--var", f"{key}={value}")
    check(*planned, allowed=(0, 2))
    from wf.security import validate_variable_name

    name = f"{key}={value}".split("=", 1)[0]  # split at the first "=" (docs/cli.md#wf-run)
    try:
        validate_variable_name(name)
        valid = name not in RESERVED_NAMES and no_surrogates(key + value)
    except ValueError:
        valid = False
    assert (planned.code == 0) == valid, (key, planned)
    count("--var names (dry runs)")


# -- whole argument vectors ------------------------------------------------------------------------
COMMANDS = [
    "init",
    "validate",
    "run",
    "resume",
    "list",
    "runs",
    "logs",
    "graph",
    "inspect",
    "status",
    "audit",
    "diff",
    "export",
    "health",
    "ui",
    "nope",
]
FLAGS = [
    "--json",
    "-j",
    "--jobs",
    "--plain",
    "--dry-run",
    "--sequential",
    "--parallel",
    "--work-stealing",
    "--max-parallel",
    "--var",
    "--timeout",
    "--print-output",
    "--clean-env",
    "--from",
    "--only",
    "--rerun",
    "-w",
    "--workflow",
    "-s",
    "--status",
    "--tag",
    "--start-date",
    "--end-date",
    "--min-duration",
    "-l",
    "--limit",
    "-o",
    "--offset",
    "-S",
    "--sort",
    "-d",
    "--detailed",
    "--stats",
    "--timeline",
    "--tasks",
    "--logs",
    "-n",
    "--tail",
    "--attempt",
    "-f",
    "--format",
    "--detail",
    "--matrix",
    "--forensic",
    "--triggers",
    "--colour",
    "--no-colour",
    "--highlight",
    "--run",
    "--export",
    "--output",
    "--type",
    "--interval",
    "--store",
    "--example",
    "--help",
    "--version",
    "--log-level",
    "--home",
    "--config",
    "--",
    "-x",
]
VALUES = [
    "hello",
    "failing",
    "hello.toml",
    "./hello.toml",
    "0",
    "1",
    "-1",
    "3",
    "99999999999999999999",
    "1.5",
    "0.05",
    "1s",
    "500ms",
    "-5s",
    "1e309",
    "x=1",
    "=",
    "k=",
    "=v",
    "a",
    "a,b",
    "2024-01-01",
    "2024-13-45",
    "0001-01-01",
    "9999-12-31",
    "time",
    "name",
    "status",
    "success",
    "failed",
    "running",
    "json",
    "tar",
    "dot",
    "html",
    "mermaid",
    "ascii",
    "info",
    "error",
    "task_started",
    "RUN",
    "RUN8",
    "RUN1",
    "",
    " ",
    "..",
    ".",
    "{{.x}}",
    "é",
    "a\x00b",
    "out.json",
    "home2",
    "cfg.toml",
]
# Values without '/' keep every file a fuzzed command may write inside the test's cwd.
SAFE_TEXT = st.text(alphabet=st.characters(blacklist_characters="/\\"), max_size=10)


@st.composite
def argv_vectors(draw: st.DrawFn) -> list[str]:
    argv: list[str] = []
    if draw(st.booleans()):
        argv += draw(st.sampled_from([["--log-level", "error"], ["--home", "home2"], []]))
    argv.append(draw(st.sampled_from(COMMANDS)))
    for _ in range(draw(st.integers(0, 6))):
        argv.append(draw(st.one_of(st.sampled_from(FLAGS), st.sampled_from(VALUES), SAFE_TEXT)))
    return argv


INTS = st.sampled_from(["0", "1", "2", "3", "-1", "10", "99999999999999999999", "x", ""])
DURATIONS = st.sampled_from(["1s", "0", "0.5", "500ms", "1m30s", "-1s", "1e309", "5x", "", "2h"])
DATES = st.sampled_from(["2024-01-01", "0001-01-01", "9999-12-31", "2024-02-30", "today", ""])
RUNS = st.sampled_from(["RUN", "RUN8", "RUN1", "nope", "", "%", "_"])
WORKFLOWS = st.sampled_from(["hello", "failing", "hello.toml", "nope", "../x", "", "-x"])
TASKS = st.sampled_from(["a", "b", "a,b", "nope", "a[x=1]", "", ","])
VARS = st.sampled_from(["x=1", "a=b=c", "=", "k=", "=v", "bad name=1", "failed_task=1", "x"])
RUN_FLAGS: dict[str, Any] = {
    "--dry-run": None,
    "--json": None,
    "--plain": None,
    "--sequential": None,
    "--parallel": None,
    "--work-stealing": None,
    "-j": INTS,
    "--max-parallel": INTS,
    "--schedule": st.sampled_from(["critical-path", "fifo", "x"]),
    "--var": VARS,
    "--timeout": DURATIONS,
    "--print-output": None,
    "--clean-env": None,
}
GRAMMAR: dict[str, tuple[list[Any], dict[str, Any]]] = {
    "run": ([WORKFLOWS], RUN_FLAGS),
    "resume": (
        [RUNS],
        {**RUN_FLAGS, "--from": TASKS, "--only": TASKS, "--rerun": TASKS} | {"--dry-run": None},
    ),
    "validate": ([WORKFLOWS], {"--json": None, "--store": None}),
    "graph": (
        [WORKFLOWS],
        {
            "-f": st.sampled_from(["ascii", "dot", "html", "mermaid", "json", "svg"]),
            "-d": None,
            "--stats": None,
            "--matrix": None,
            "--forensic": None,
            "--triggers": None,
            "--colour": None,
            "--no-colour": None,
            "--highlight": TASKS,
            "--run": RUNS,
            "-o": st.sampled_from(["g.out", "sub/g.out", ""]),
        },
    ),
    "runs": (
        [],
        {
            "-w": WORKFLOWS,
            "-s": st.sampled_from(["success", "failed", "running", "bogus", ""]),
            "--tag": st.sampled_from(["x", "", "%"]),
            "--start-date": DATES,
            "--end-date": DATES,
            "--min-duration": DURATIONS,
            "-l": INTS,
            "-o": INTS,
            "-S": st.sampled_from(["time", "name", "workflow", "duration", "tasks", "status", "x"]),
            "--json": None,
            "-d": None,
            "--stats": None,
            "--timeline": None,
            "--tasks": None,
            "--logs": None,
        },
    ),
    "logs": ([RUNS, TASKS], {"-f": None, "-n": INTS, "--attempt": INTS}),
    "inspect": ([RUNS], {"--json": None}),
    "status": ([RUNS], {"--json": None, "--interval": st.sampled_from(["0.01", "0", "-1", "x"])}),
    "audit": ([RUNS], {"--json": None, "--type": st.sampled_from(["task_started", "x", ""])}),
    "diff": ([RUNS, RUNS], {"--json": None}),
    "export": (
        [RUNS],
        {"-f": st.sampled_from(["json", "tar", "zip"]), "-o": st.sampled_from(["e.json", "e/x"])},
    ),
    "health": ([], {"--json": None}),
    "list": ([], {"--json": None, "-d": None}),
    "init": ([], {"--example": None}),
}


@st.composite
def structured_argv(draw: st.DrawFn) -> list[str]:
    """Mostly well-formed invocations, so the fuzzing reaches past the option parser."""
    command = draw(st.sampled_from(sorted(GRAMMAR)))
    positionals, flags = GRAMMAR[command]
    argv = [command, *(draw(p) for p in positionals if draw(st.integers(0, 9)) > 0)]
    for flag in draw(st.lists(st.sampled_from(sorted(flags)), max_size=4, unique=True)):
        argv.append(flag)
        if flags[flag] is not None:
            argv.append(draw(flags[flag]))
    if draw(st.integers(0, 9)) == 0:  # now and then, something unexpected somewhere
        argv.insert(draw(st.integers(0, len(argv))), draw(SAFE_TEXT))
    return argv


@pytest.fixture
def fuzz_home(wf: Wf, wf_home: Path) -> dict[str, str]:
    """Two workflows and two finished runs to point fuzzed commands at."""
    workflows = wf_home / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "hello.toml").write_text('[tasks.a]\ncmd = "echo hi"\n[tasks.b]\ncmd = "true"\n')
    (workflows / "failing.toml").write_text('[tasks.a]\ncmd = "exit 3"\n')
    assert wf("run", "hello").code == 0
    assert wf("run", "failing").code == 1
    runs = json.loads(wf("runs", "--json").out)["runs"]
    return {"RUN": runs[0]["id"], "RUN8": runs[1]["id"][:8], "RUN1": runs[0]["id"][:1]}


@fuzz_settings(150, 3000)
@given(argv=st.one_of(argv_vectors(), structured_argv(), structured_argv()))
def test_fuzzed_argument_vectors_exit_0_1_or_2_without_tracebacks(
    wf: Wf, fuzz_home: dict[str, str], workdir: Path, argv: list[str]
) -> None:
    argv = [fuzz_home.get(a, a) for a in argv]
    # A follow or a status loop on a finished run returns at once; a resume of a run may run.
    code, out, err = wf(*argv)
    check(code, out, err)
    count(f"argument vectors (exit {code})")
