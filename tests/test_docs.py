"""Keep the user guide honest: commands, options, config keys, examples, links and snippets.

These tests read the real click command objects, config tables and example files, so a new
option, key or example that is not documented fails here.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import click
import pytest

from wf.cli import main
from wf.cli.app import cli
from wf.config import CONFIG_KEYS, PATH_KEYS, load_config
from wf.dag import build_dag, parse_workflow_text

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
CLI_MD = DOCS / "cli.md"
CONFIG_MD = DOCS / "configuration.md"
INDEX_MD = DOCS / "index.md"
GUIDE_PAGES = [
    "index.md",
    "workflow-files.md",
    "variables.md",
    "executors.md",
    "resume.md",
    "caching.md",
    "cli.md",
    "json.md",
    "configuration.md",
    "schema.md",
    "ui.md",
    "otel.md",
    "secrets.md",
]


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _mentions(text: str, token: str) -> bool:
    """TOKEN occurs as a whole word/flag (``-j`` does not match inside ``--jobs``)."""
    return re.search(rf"(?<![\w-]){re.escape(token)}(?![\w-])", text) is not None


def _sections(text: str) -> dict[str, str]:
    """``## Heading`` -> the text up to the next level-2 heading."""
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def _help_commands(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The command names listed under ``Commands:`` by ``wf --help``."""
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    block = out.split("Commands:", 1)[1]
    return re.findall(r"^  ([a-z][a-z0-9-]*)\s", block, flags=re.MULTILINE)


def _commands() -> dict[str, click.Command]:
    ctx = click.Context(cli)
    found: dict[str, click.Command] = {}
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command is not None, name
        found[name] = command
    return found


def _param_tokens(param: click.Parameter) -> list[str]:
    if isinstance(param, click.Argument):
        return [param.human_readable_name.upper()]
    return [*param.opts, *param.secondary_opts]


# --- docs/cli.md -----------------------------------------------------------------------------


def test_every_command_of_wf_help_has_a_section(capsys: pytest.CaptureFixture[str]) -> None:
    listed = _help_commands(capsys)
    assert listed, "could not find the command list in wf --help"
    assert sorted(listed) == sorted(_commands()), "wf --help and the click group disagree"
    sections = _sections(_read(CLI_MD))
    missing = [name for name in listed if f"wf {name}" not in sections]
    assert missing == [], f"docs/cli.md has no '## wf NAME' section for: {missing}"


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_option_and_argument_is_documented_in_its_section(name: str) -> None:
    section = _sections(_read(CLI_MD)).get(f"wf {name}", "")
    command = _commands()[name]
    missing = [
        token
        for param in command.params
        for token in _param_tokens(param)
        if not _mentions(section, token)
    ]
    assert missing == [], f"'## wf {name}' in docs/cli.md does not mention {missing}"


def test_global_options_are_documented() -> None:
    section = _sections(_read(CLI_MD)).get("Global options", "")
    missing = [token for param in cli.params for token in _param_tokens(param)]
    missing = [token for token in missing if not _mentions(section, token)]
    assert missing == [], f"'## Global options' in docs/cli.md does not mention {missing}"


# --- examples ----------------------------------------------------------------------------------


def test_every_example_is_mentioned_in_the_index_or_readme() -> None:
    text = _read(INDEX_MD) + _read(README)
    examples = sorted((ROOT / "examples").glob("*.toml"))
    assert examples
    missing = [path.name for path in examples if path.name not in text and path.stem not in text]
    assert missing == [], f"not mentioned in docs/index.md or README.md: {missing}"


def test_every_example_is_in_the_gallery_table() -> None:
    gallery = _sections(_read(INDEX_MD)).get("Example gallery", "")
    for path in sorted((ROOT / "examples").glob("*.toml")):
        assert f"(../examples/{path.name})" in gallery, path.name


# --- docs/configuration.md ---------------------------------------------------------------------


def test_every_config_key_and_environment_variable_is_documented() -> None:
    text = _read(CONFIG_MD)
    missing = [
        token
        for key, (env_name, _default) in CONFIG_KEYS.items()
        for token in (f"`{key}`", env_name)
        if token not in text
    ]
    missing += [
        token
        for key, env_name in PATH_KEYS.items()
        for token in (f"`[paths] {key}`", env_name)
        if token not in text
    ]
    assert "WF_HOME" in text
    assert missing == [], f"docs/configuration.md does not mention {missing}"


def test_the_config_file_example_loads_without_warnings(tmp_path: Path) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", _read(CONFIG_MD), flags=re.DOTALL)
    assert blocks, "docs/configuration.md should show a config file"
    for block in blocks:
        config_file = tmp_path / "config.toml"
        config_file.write_text(block, encoding="utf-8")
        config = load_config(config_path=config_file, environ={})
        assert config.warnings == [], block


# --- every page: links and workflow snippets ---------------------------------------------------


def test_the_guide_pages_exist() -> None:
    missing = [page for page in GUIDE_PAGES if not (DOCS / page).is_file()]
    assert missing == []


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    headings = re.findall(r"^#{1,6} (.+)$", _read(path), flags=re.MULTILINE)
    return {_slug(heading) for heading in headings}


@pytest.mark.parametrize("page", [*GUIDE_PAGES, "../README.md"])
def test_relative_links_and_anchors_resolve(page: str) -> None:
    path = (DOCS / page).resolve()
    text = re.sub(r"```.*?```", "", _read(path), flags=re.DOTALL)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # external
        if page == "../README.md" and not target.startswith(("docs/", "examples/")):
            continue  # the README's other links belong to other parts of the project
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        check_anchor = bool(anchor) and linked.suffix == ".md"
        if not linked.exists() or (check_anchor and anchor not in _anchors(linked)):
            broken.append(target)
    assert broken == [], f"{page}: broken links {broken}"


def _workflow_snippets() -> list[tuple[str, str]]:
    snippets = []
    for page in GUIDE_PAGES:
        text = _read(DOCS / page)
        for number, block in enumerate(re.findall(r"```toml\n(.*?)```", text, flags=re.DOTALL)):
            if "[tasks." in block:
                snippets.append((f"{page}#{number}", block))
    return snippets


@pytest.mark.parametrize(("where", "snippet"), _workflow_snippets(), ids=lambda v: str(v)[:40])
def test_workflow_snippets_in_the_docs_are_valid(where: str, snippet: str) -> None:
    # Raises WorkflowError (with every error) if the snippet is not a valid workflow.
    definition = parse_workflow_text(textwrap.dedent(snippet), name="snippet")
    dag = build_dag(definition)
    assert dag.total_tasks >= 1, where
