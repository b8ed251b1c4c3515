"""Import layering (CONTRIBUTING.md#layout): every layer imports only from the layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "wf"

# Top-level package or module under wf -> layer (higher layers may import lower ones).
LAYERS = {
    **dict.fromkeys(["dag", "contextmap", "security", "errors", "_version", "durations"], 0),
    **dict.fromkeys(
        [
            "storage",
            "config",
            "logs",
            "validation",
            "inspection",
            "export",
            "health",
            "rundiff",
            "files",
        ],
        1,
    ),
    **dict.fromkeys(["executor", "resume"], 2),
    **dict.fromkeys(["cli", "web"], 3),
}
# Deliberate exceptions: (importer, imported). A workflow *name* is resolved in the configured
# workflows directory, so loading by name reads the configuration (lazily).
ALLOWED = {("wf.dag.source", "wf.config")}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 and parts[0] == "wf" else None


def _imports(tree: ast.AST) -> list[str]:
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


def test_no_module_imports_from_a_higher_layer() -> None:
    upward = []
    for path in sorted(SRC.rglob("*.py")):
        module = ".".join(("wf", *path.relative_to(SRC).with_suffix("").parts))
        module = module.removesuffix(".__init__")
        mine = _layer(module)
        if mine is None:
            continue
        for imported in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            theirs = _layer(imported)
            if theirs is not None and theirs > mine and (module, imported) not in ALLOWED:
                upward.append(f"{module} imports {imported}")
    assert upward == []
