"""DAG shapes for the benchmark suite, and writers for each tool's input format."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Shape:
    """A benchmark DAG: node -> command and node -> dependencies, plus the worker count."""

    name: str
    commands: dict[str, str]
    deps: dict[str, list[str]] = field(default_factory=dict)
    workers: int = 2
    durations: dict[str, float] = field(default_factory=dict)

    def lower_bound(self) -> float:
        """max(critical path, total work / workers) from the sleep durations (0 for `true`)."""
        if not self.durations:
            return 0.0
        finish: dict[str, float] = {}
        for node in topo(self):
            finish[node] = self.durations.get(node, 0.0) + max(
                (finish[d] for d in self.deps.get(node, [])), default=0.0
            )
        critical = max(finish.values())
        return max(critical, sum(self.durations.values()) / self.workers)


def topo(shape: Shape) -> list[str]:
    seen: set[str] = set()
    order: list[str] = []
    for node in shape.commands:
        stack = [(node, False)]
        while stack:
            current, done = stack.pop()
            if done:
                if current not in seen:
                    seen.add(current)
                    order.append(current)
                continue
            if current in seen:
                continue
            stack.append((current, True))
            stack.extend((d, False) for d in shape.deps.get(current, []) if d not in seen)
    return order


def wide(n: int = 1000, workers: int = 2) -> Shape:
    return Shape("wide", {f"t{i:05d}": "true" for i in range(n)}, workers=workers)


def seq(n: int = 1000) -> Shape:
    """1,000 independent `true` run one at a time: the per-task overhead of a sequential run."""
    shape = wide(n, workers=1)
    shape.name = "seq"
    return shape


def chain(n: int = 300) -> Shape:
    names = [f"t{i:05d}" for i in range(n)]
    deps = {names[i]: [names[i - 1]] for i in range(1, n)}
    return Shape("chain", dict.fromkeys(names, "true"), deps, workers=1)


def layered(layers: int = 20, width: int = 50, workers: int = 2, seed: int = 7) -> Shape:
    rng = random.Random(seed)
    commands: dict[str, str] = {}
    deps: dict[str, list[str]] = {}
    previous: list[str] = []
    for layer in range(layers):
        current = [f"l{layer:02d}_{i:03d}" for i in range(width)]
        for node in current:
            commands[node] = "true"
            if previous:
                deps[node] = sorted(rng.sample(previous, rng.randint(2, 3)))
        previous = current
    return Shape("layered", commands, deps, workers=workers)


def sleep(n: int = 40, seconds: float = 0.2, workers: int = 8) -> Shape:
    commands = {f"s{i:03d}": f"sleep {seconds}" for i in range(n)}
    return Shape("sleep", commands, workers=workers, durations=dict.fromkeys(commands, seconds))


def skewed(workers: int = 4) -> Shape:
    """A long chain hidden behind many short tasks: both level order and FIFO start it late."""
    commands: dict[str, str] = {}
    deps: dict[str, list[str]] = {}
    durations: dict[str, float] = {}
    # 24 short independent tasks whose IDs sort first ("a…"), so FIFO/ID order runs them first.
    for i in range(24):
        node = f"a{i:02d}"
        commands[node], durations[node] = "sleep 0.1", 0.1
    # The critical chain: z0 -> z1 -> ... -> z5, each 0.3 s (1.8 s in all).
    previous = None
    for i in range(6):
        node = f"z{i}"
        commands[node], durations[node] = "sleep 0.3", 0.3
        if previous:
            deps[node] = [previous]
        previous = node
    # Each chain step also releases short tasks that crowd the queue.
    for i in range(6):
        for j in range(4):
            node = f"m{i}_{j}"
            commands[node], durations[node] = "sleep 0.1", 0.1
            deps[node] = [f"z{i}"]
    return Shape("skewed", commands, deps, workers=workers, durations=durations)


def scale(n: int = 10_000, workers: int = 2) -> Shape:
    shape = wide(n, workers)
    shape.name = "scale"
    return shape


# -- writers ------------------------------------------------------------------------------
def _toml_string(text: str) -> str:
    return json.dumps(text)


def write_wf(shape: Shape, path: Path) -> None:
    lines = [f'name = "bench-{shape.name}"', ""]
    for node, cmd in shape.commands.items():
        lines.append(f"[tasks.{node}]")
        lines.append(f"cmd = {_toml_string(cmd)}")
        if shape.deps.get(node):
            lines.append(
                "depends_on = [" + ", ".join(_toml_string(d) for d in shape.deps[node]) + "]"
            )
        lines.append("")
    path.write_text("\n".join(lines))


def write_make(shape: Shape, path: Path) -> None:
    lines = [".PHONY: all " + " ".join(shape.commands), "all: " + " ".join(shape.commands), ""]
    for node, cmd in shape.commands.items():
        lines.append(f"{node}: " + " ".join(shape.deps.get(node, [])))
        lines.append(f"\t@{cmd}")
    path.write_text("\n".join(lines) + "\n")


def write_ninja(shape: Shape, path: Path) -> None:
    lines = ["rule run", "  command = $cmd", ""]
    for node, cmd in shape.commands.items():
        order = " ".join(shape.deps.get(node, []))
        lines.append(f"build {node}: run" + (f" || {order}" if order else ""))
        lines.append(f"  cmd = {cmd}")
    lines.append("default " + " ".join(shape.commands))
    path.write_text("\n".join(lines) + "\n")


def write_doit(shape: Shape, path: Path) -> None:
    payload = {node: [shape.commands[node], shape.deps.get(node, [])] for node in shape.commands}
    path.write_text(
        "import json\n"
        "DOIT_CONFIG = {'verbosity': 0}\n"
        f"SPEC = json.loads({json.dumps(json.dumps(payload))})\n"
        "def task_bench():\n"
        "    for name, (cmd, deps) in SPEC.items():\n"
        "        yield {'name': name, 'actions': [cmd], 'task_dep': ['bench:' + d for d in deps],"
        " 'uptodate': [False]}\n"
    )


def write_plan(shape: Shape, path: Path) -> None:
    path.write_text(json.dumps({"commands": shape.commands, "deps": shape.deps}))
