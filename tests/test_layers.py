"""Import layering (docs/architecture.md): imports point downward only.

The web UI reads the database through the storage and view modules and never reaches the
engine, not even through a module it imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every wf module PATH imports, at any depth in the file (lazy imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    found: set[str] = set()
    # Imports under ``if TYPE_CHECKING:`` never run (wf/__init__.py names the API for type
    # checkers that way and imports it lazily).
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for child in node.body
        for inner in ast.walk(child)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "wf" or name.startswith("wf.")}


MODULES = {_module_name(p): p for p in (SRC / "wf").rglob("*.py")}
GRAPH = {name: {m for m in _imports(path) if m in MODULES} for name, path in MODULES.items()}


def _reachable(start: str) -> set[str]:
    seen: set[str] = set()
    stack = [start]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        stack.extend(GRAPH.get(name, ()))
        parent = name.rsplit(".", 1)[0]  # importing a module runs its package's __init__
        if parent != name and parent in MODULES:
            stack.append(parent)
    return seen


def _inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


WEB_MODULES = sorted(name for name in MODULES if _inside(name, "wf.web"))


def test_the_web_layer_exists() -> None:
    assert "wf.web.app" in WEB_MODULES


@pytest.mark.parametrize("module", WEB_MODULES)
def test_the_web_ui_never_reaches_the_engine_or_the_cli(module: str) -> None:
    bad = sorted(m for m in _reachable(module) if _inside(m, "wf.executor") or _inside(m, "wf.cli"))
    assert bad == [], f"{module} reaches {bad}"


@pytest.mark.parametrize(
    "module",
    sorted(n for n in MODULES if _inside(n, "wf.dag") or _inside(n, "wf.contextmap")),
)
def test_the_core_imports_no_storage_engine_or_face(module: str) -> None:
    direct = GRAPH[module]
    bad = sorted(
        m
        for m in direct
        if any(_inside(m, p) for p in ("wf.storage", "wf.executor", "wf.cli", "wf.web"))
    )
    assert bad == [], f"{module} imports {bad}"


@pytest.mark.parametrize("module", sorted(n for n in MODULES if _inside(n, "wf.storage")))
def test_storage_imports_no_engine_or_face(module: str) -> None:
    bad = sorted(
        m for m in GRAPH[module] if any(_inside(m, p) for p in ("wf.executor", "wf.cli", "wf.web"))
    )
    assert bad == [], f"{module} imports {bad}"


@pytest.mark.parametrize("module", sorted(n for n in MODULES if _inside(n, "wf.executor")))
def test_the_engine_imports_no_face(module: str) -> None:
    bad = sorted(m for m in GRAPH[module] if _inside(m, "wf.cli") or _inside(m, "wf.web"))
    assert bad == [], f"{module} imports {bad}"


def test_the_checker_sees_an_import_of_the_engine() -> None:
    """The parser finds lazy and relative imports (a check that cannot fail is no check)."""
    assert "wf.executor" in GRAPH["wf.resume"] or any(
        _inside(m, "wf.executor") for m in GRAPH["wf.resume"]
    )
    assert any(_inside(m, "wf.executor") for m in _reachable("wf.cli.commands.run"))


# Top-level package or module under wf -> layer (higher layers may import lower ones).
LAYERS = {
    **dict.fromkeys(
        [
            "dag",
            "contextmap",
            "security",
            "errors",
            "_version",
            "durations",
            "stats",
            "digests",
            "jsontext",
        ],
        0,
    ),
    **dict.fromkeys(
        [
            "storage",
            "config",
            "logs",
            "validation",
            "inspection",
            "export",
            "health",
            "history",
            "dates",
            "failure",
            "cache",
            "rundiff",
            "files",
            "secrets",  # reads --env-file and masks files a task wrote
        ],
        1,
    ),
    **dict.fromkeys(["executor", "resume", "telemetry"], 2),
    **dict.fromkeys(["cli", "web"], 3),
}
# Deliberate exceptions: (importer, imported). A workflow *name* is resolved in the configured
# workflows directory, so loading by name reads the configuration (lazily); a task that names a
# pool its workflow does not declare takes the configured default pools (lazily).
ALLOWED = {("wf.dag.source", "wf.config"), ("wf.dag.parse", "wf.config")}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 and parts[0] == "wf" else None


def test_no_module_imports_from_a_higher_layer() -> None:
    upward = []
    for module, imported_modules in sorted(GRAPH.items()):
        mine = _layer(module)
        if mine is None:
            continue
        for imported in sorted(imported_modules):
            theirs = _layer(imported)
            if theirs is not None and theirs > mine and (module, imported) not in ALLOWED:
                upward.append(f"{module} imports {imported}")
    assert upward == []


def test_every_top_level_module_has_a_layer() -> None:
    tops = {name.split(".")[1] for name in MODULES if name.count(".") >= 1}
    assert sorted(tops - set(LAYERS) - {"__main__", "cli"}) == []
