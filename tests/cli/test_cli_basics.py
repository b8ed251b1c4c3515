"""Global options, help texts, usage errors, and that nothing ever prints a traceback.

See docs/cli.md#global-options.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wf as wf_package
from wf.cli.app import cli

Wf = Callable[..., tuple[int, str, str]]

README = Path(__file__).resolve().parents[2] / "README.md"


def listed_commands() -> list[str]:
    """The commands in the ``Commands:`` section of ``wf --help``."""
    result = CliRunner().invoke(cli, ["--help"], prog_name="wf")
    assert result.exit_code == 0
    section = result.output.split("Commands:", 1)[1]
    return [line.split()[0] for line in section.splitlines() if line.startswith("  ")]


COMMANDS = listed_commands()


def test_help_lists_the_core_commands() -> None:
    for name in ("init", "validate", "run", "resume", "list", "runs", "logs", "graph"):
        assert name in COMMANDS


def test_version_prints_wf_and_the_package_version(wf: Wf) -> None:
    code, out, _ = wf("--version")
    assert code == 0
    assert out.strip() == f"wf {wf_package.__version__}"


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_top_level_help_exits_zero(wf: Wf, flag: str) -> None:
    code, out, err = wf(flag)
    assert code == 0
    assert "Usage: wf" in out
    assert err == ""


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_text_and_exits_zero(wf: Wf, command: str) -> None:
    code, out, _ = wf(command, "--help")
    assert code == 0
    assert f"Usage: wf {command}" in out
    description = out.split("\n\n", 2)[1].strip()
    assert len(description) > 15


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_a_short_help_in_the_command_list(command: str) -> None:
    group_help = CliRunner().invoke(cli, ["--help"], prog_name="wf").output
    line = next(x for x in group_help.splitlines() if x.startswith(f"  {command} "))
    assert line.split(None, 1)[1].strip()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_mentioned_in_the_readme(command: str) -> None:
    text = README.read_text(encoding="utf-8")
    # `wf COMMAND`, possibly with global options in between (`wf --home DIR run`).
    pattern = rf"\bwf(?:\s+--?[a-z-]+(?:[ =][^\s-]\S*)?)*\s+{re.escape(command)}\b"
    assert re.search(pattern, text), f"README.md does not mention `wf {command}`"


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (["run", "x", "--bogus"], "Run 'wf run --help' for usage."),
        (["runs", "--nope"], "Run 'wf runs --help' for usage."),
        (["graph", "x", "--colourful"], "Run 'wf graph --help' for usage."),
        (["--bogus"], "Run 'wf --help' for usage."),
        (["--bogus", "list"], "Run 'wf --help' for usage."),
    ],
)
def test_unknown_flag_is_a_usage_error_with_a_help_hint(wf: Wf, argv: list[str], hint: str) -> None:
    code, out, err = wf(*argv)
    assert code == 2
    assert err.startswith("Error: ")
    assert hint in err
    assert out == ""


def test_unknown_command_points_at_the_top_level_help(wf: Wf) -> None:
    code, _, err = wf("frobnicate")
    assert code == 2
    assert "Error:" in err
    assert "Run 'wf --help' for usage." in err


@pytest.mark.parametrize("argv", [[], ["--home", "somewhere"]])
def test_no_command_is_a_short_usage_error(wf: Wf, argv: list[str]) -> None:
    code, out, err = wf(*argv)
    assert code == 2
    assert err == "Error: Missing command.\nRun 'wf --help' for usage.\n"
    assert out == ""


def test_missing_argument_is_a_usage_error(wf: Wf) -> None:
    code, _, err = wf("logs")
    assert code == 2
    assert "Error: Missing argument 'RUN_ID'" in err
    assert "Run 'wf logs --help' for usage." in err


def test_bad_log_level_is_a_usage_error(wf: Wf) -> None:
    code, _, err = wf("--log-level", "loud", "list")
    assert code == 2
    assert "Error:" in err


def test_verbose_is_accepted_as_a_global_option(wf: Wf) -> None:
    code, out, _ = wf("-v", "list")
    assert code == 0
    assert "No workflows found in" in out


def test_main_returns_instead_of_raising_system_exit() -> None:
    from wf.cli import main

    assert main(["--version"]) == 0


# ----------------------------------------------------------------------------- fuzzing

TOKENS = [
    "init",
    "validate",
    "run",
    "resume",
    "list",
    "runs",
    "logs",
    "graph",
    "hello",
    "missing",
    "../x",
    "x=1",
    "a b=1",
    "0",
    "-1",
    "2",
    "abc",
    "1s",
    "--json",
    "-j",
    "--dry-run",
    "--var",
    "--timeout",
    "--sequential",
    "--parallel",
    "--max-parallel",
    "-f",
    "dot",
    "png",
    "-n",
    "--attempt",
    "--tail",
    "-s",
    "failed",
    "--limit",
    "--sort",
    "--start-date",
    "--home",
    "--config",
    "--log-level",
    "--example",
    "--store",
    "--bogus",
    "-d",
    "--",
    "",
]


@pytest.fixture
def fuzz_home(wf: Wf, wf_home: Path) -> Path:
    """A home with a runnable 'hello' workflow and one recorded run."""
    assert wf("init", "--example")[0] == 0
    return wf_home


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    # The home is deliberately shared by all examples: commands must cope with any state.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(argv=st.lists(st.sampled_from(TOKENS), min_size=0, max_size=6))
def test_no_argument_vector_ever_prints_a_traceback(
    wf: Wf, fuzz_home: Path, argv: list[str]
) -> None:
    code, out, err = wf(*argv)
    assert code in (0, 1, 2), (argv, code, err)
    assert "Traceback" not in out + err
    assert "internal error" not in err, (argv, err)
