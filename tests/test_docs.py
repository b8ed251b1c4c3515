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
    "storage.md",
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


@pytest.mark.parametrize(
    "page", [*sorted(p.name for p in DOCS.glob("*.md")), "../README.md", "../CONTRIBUTING.md"]
)
def test_relative_links_and_anchors_resolve(page: str) -> None:
    path = (DOCS / page).resolve()
    text = re.sub(r"```.*?```", "", _read(path), flags=re.DOTALL)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # external
        if page.startswith("../") and not target.startswith(("docs/", "examples/")):
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


# --- self-contained: docs/ pages, never an outside specification ------------------------------

#: Where the code, tests, benchmarks and docs live; each text file there is scanned.
CITING_PLACES = ["src", "tests", "bench", "docs", "README.md", "CONTRIBUTING.md"]
#: "SPEC" followed by a section sign and number, a bare section sign and number, and the file
#: name of an outside specification (written with escapes here, so this file passes itself).
OUTSIDE_CITATION = re.compile(r"SPEC\s*\u00a7|\u00a7\s*\d|\bSPEC\.md\b")
#: A repository path to a docs page, with its anchor: ``docs/cli.md#wf-runs``.
DOCS_PATH = re.compile(r"(?<![\w-])docs/([\w.-]+?\.md)(?:#([\w-]+))?")


def _text_files() -> list[Path]:
    files = []
    for place in CITING_PLACES:
        path = ROOT / place
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for candidate in candidates:
            if "__pycache__" in candidate.parts:
                continue
            try:
                candidate.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue  # images and other binary files
            files.append(candidate)
    return files


def test_nothing_cites_an_outside_specification() -> None:
    citing = []
    for path in _text_files():
        for number, line in enumerate(_read(path).splitlines(), start=1):
            if OUTSIDE_CITATION.search(line):
                citing.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert citing == [], "cite the docs/ page instead:\n" + "\n".join(citing)


def test_the_citation_check_catches_every_form() -> None:
    section = "\u00a7"
    for cited in (
        f"(SPEC {section}4.2)",
        f"SPEC {section}6.2\u20136.7",
        f"({section}9.1)",
        "SPEC" + ".md",
    ):
        assert OUTSIDE_CITATION.search(cited), cited
    assert not OUTSIDE_CITATION.search("SPEC_NAMES, the command SPEC runs (docs/cli.md#wf-run)")


def test_every_docs_page_cited_in_code_and_docs_exists_with_its_anchor() -> None:
    broken = []
    cited = 0
    for path in _text_files():
        for match in DOCS_PATH.finditer(_read(path)):
            page, anchor = match.group(1), match.group(2)
            target = DOCS / page
            cited += 1
            if not target.is_file() or (anchor and anchor not in _anchors(target)):
                broken.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert broken == []
    assert cited > 100  # the code cites its docs: the check has something to check


def _migrated_schema() -> dict[str, list[str]]:
    """Table -> column names of a database with every migration applied."""
    import sqlite3

    from wf.storage.schema import migrate

    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(conn)
        tables = [
            str(row[0])
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {
            table: [str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")]
            for table in tables
        }
    finally:
        conn.close()


def test_storage_md_names_every_table_and_column() -> None:
    text = _read(DOCS / "storage.md")
    parts = re.split(r"^### (.+)$", text, flags=re.MULTILINE)
    sections = dict(zip(parts[1::2], parts[2::2], strict=True))
    missing = []
    for table, columns in _migrated_schema().items():
        bodies = [body for title, body in sections.items() if f"`{table}`" in title]
        if not bodies:
            missing.append(f"no ### section for table {table}")
            continue
        missing += [f"{table}.{col}" for col in columns if f"`{col}`" not in bodies[0]]
    assert missing == []


def test_storage_md_lists_every_migration() -> None:
    from wf.storage.schema import MIGRATIONS

    migrations = _sections(_read(DOCS / "storage.md"))["Migrations"]
    listed = {int(n) for n in re.findall(r"^\| (\d+) \|", migrations, flags=re.MULTILINE)}
    assert listed == set(MIGRATIONS)
