"""Hand-built DAGs of reference shapes (chain, fan-out, diamond, …), independent of the parser."""

from __future__ import annotations

import itertools
import os
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from wf.dag.model import DAG, GLOBAL_TRAP_ID, Node, TaskDefinition, Trigger

TaskSpec = Sequence[str] | Mapping[str, Any]


def build(
    tasks: Mapping[str, TaskSpec],
    *,
    name: str = "demo",
    on_failure: str = "",
    triggers: Sequence[Trigger] = (),
    description: str = "",
) -> DAG:
    """A DAG built by hand (levels as in docs/executors.md); a spec is a dependency list or kwargs.

    The kwargs are those of ``TaskDefinition``.
    """
    definitions: dict[str, TaskDefinition] = {}
    for task_id, spec in tasks.items():
        kwargs: dict[str, Any] = (
            {"depends_on": list(spec)} if not isinstance(spec, Mapping) else dict(spec)
        )
        kwargs.setdefault("cmd", f"echo {task_id}")
        definitions[task_id] = TaskDefinition(id=task_id, **kwargs)

    nodes: dict[str, Node] = {}
    expansions: dict[str, list[str]] = {}
    for task_id, task in definitions.items():
        if task.is_forensic:
            continue
        if not task.matrix:
            nodes[task_id] = Node(id=task_id, task=task)
            expansions[task_id] = [task_id]
            continue
        keys = sorted(task.matrix)
        expansions[task_id] = []
        for values in itertools.product(*(task.matrix[k] for k in keys)):
            pairs = dict(zip(keys, values, strict=True))
            node_id = f"{task_id}[{','.join(f'{k}={v}' for k, v in pairs.items())}]"
            nodes[node_id] = Node(id=node_id, task=task, is_expanded=True, matrix_vars=pairs)
            expansions[task_id].append(node_id)

    for node in nodes.values():
        node.dependencies = [
            dep for ref in node.task.depends_on for dep in expansions.get(ref, [ref])
        ]
        for dep in node.dependencies:
            nodes[dep].dependents.append(node.id)
    for node in nodes.values():
        node.dependents.sort()

    levels: list[list[str]] = []
    placed: set[str] = set()
    while len(placed) < len(nodes):
        level = sorted(
            node_id
            for node_id, node in nodes.items()
            if node_id not in placed and all(dep in placed for dep in node.dependencies)
        )
        for node_id in level:
            nodes[node_id].level = len(levels)
            nodes[node_id].can_run_in_parallel = len(level) > 1
        placed.update(level)
        levels.append(level)

    trap = None
    if on_failure:
        trap = Node(id=GLOBAL_TRAP_ID, task=definitions[on_failure])
    return DAG(
        name=name,
        description=description,
        nodes=nodes,
        levels=levels,
        roots=sorted(n for n, node in nodes.items() if not node.dependencies),
        leaves=sorted(n for n, node in nodes.items() if not node.dependents),
        total_tasks=len(nodes),
        global_trap=trap,
        forensic_tasks={t: d for t, d in definitions.items() if d.is_forensic},
        triggers=list(triggers),
        validated=True,
    )


def chain() -> DAG:
    return build({"a": [], "b": ["a"], "c": ["b"]}, name="chain")


def diamond() -> DAG:
    return build({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}, name="diamond")


def fan_out_in() -> DAG:
    return build(
        {"root": [], "t1": ["root"], "t2": ["root"], "t3": ["root"], "final": ["t1", "t2", "t3"]},
        name="fan-out-in",
    )


def independent() -> DAG:
    return build({"w": [], "x": [], "y": [], "z": []}, name="independent")


def matrix() -> DAG:
    return build(
        {
            "setup": [],
            "test": {
                "depends_on": ["setup"],
                "matrix": {"python": ["3.11", "3.12"], "region": ["eu", "us"]},
                "cmd": "tox -e py -- --python={{.python}}",
            },
            "report": ["test"],
        },
        name="matrix",
    )


def conditional() -> DAG:
    return build(
        {
            "check": {"register": "broken"},
            "publish": {"depends_on": ["check"], "condition": 'broken == 0 && channel != "dry"'},
            "notify": ["publish"],
        },
        name="conditional",
    )


def global_trap() -> DAG:
    return build(
        {
            "fetch": [],
            "parse": ["fetch"],
            "load": ["fetch"],
            "page-oncall": {"type": "forensic", "cmd": './page.sh "$WHAT"'},
        },
        name="site-release",
        on_failure="page-oncall",
    )


SHAPES: dict[str, Callable[[], DAG]] = {
    "chain": chain,
    "diamond": diamond,
    "fan_out_in": fan_out_in,
    "independent": independent,
    "matrix": matrix,
    "conditional": conditional,
    "global_trap": global_trap,
}


def layered(levels: int = 10, width: int = 100, fan_in: int = 3) -> DAG:
    """A big deterministic layered DAG: each node depends on ``fan_in`` nodes one level up."""
    tasks: dict[str, TaskSpec] = {}
    for level in range(levels):
        for i in range(width):
            deps = (
                [f"n{level - 1:02d}_{(i + k * 7) % width:03d}" for k in range(fan_in)]
                if level
                else []
            )
            tasks[f"n{level:02d}_{i:03d}"] = sorted(set(deps))
    return build(tasks, name="big")


SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.fixture
def make_dag() -> Callable[..., DAG]:
    """The hand-built DAG factory, for tests that need a particular shape."""
    return build


@pytest.fixture
def shapes() -> dict[str, Callable[[], DAG]]:
    """Builders of the named reference shapes."""
    return SHAPES


@pytest.fixture
def make_layered() -> Callable[..., DAG]:
    """Builder of big layered DAGs."""
    return layered


@pytest.fixture(params=sorted(SHAPES))
def shape(request: pytest.FixtureRequest) -> DAG:
    """Each reference shape in turn (plus matrix, conditional and global trap)."""
    return SHAPES[request.param]()


@pytest.fixture
def dag_from_toml() -> Callable[[str], DAG]:
    """Parse and build TOML text with the real parser (``name = "demo"`` unless the text says)."""
    from wf.dag import build_dag, parse_workflow_text

    def load(text: str) -> DAG:
        return build_dag(parse_workflow_text(textwrap.dedent(text), name="demo"))

    return load


@pytest.fixture
def snapshot() -> Callable[[str, str], None]:
    """Compare text with ``snapshots/<name>``; ``WF_UPDATE_SNAPSHOTS=1`` rewrites the file."""

    def check(name: str, text: str) -> None:
        path = SNAPSHOTS / name
        if os.environ.get("WF_UPDATE_SNAPSHOTS") == "1":
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
        assert path.exists(), f"missing snapshot {path}; run with WF_UPDATE_SNAPSHOTS=1"
        assert text == path.read_text(encoding="utf-8")

    return check
