"""Benchmark wf side by side with make, ninja, doit and a raw-spawn baseline.

Usage: python bench/run.py [--shapes wide,chain,layered,sleep,skewed,scale] [--reps N]

Every repetition runs each tool once on the same generated shape, alternating tools (A/B/A/B),
so machine noise hits all of them alike. Reports medians, ratios to make, and peak RSS.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import importlib.util
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shapes as shp

HERE = Path(__file__).resolve().parent
PY = sys.executable


@dataclass
class Tool:
    name: str
    build: Callable[[shp.Shape, Path], list[str]]
    home: str | None = None  # wf's home directory under the shape's directory


#: A source tree of another wf (``git archive REV src | tar -x -C DIR``, then DIR/src) to run
#: as the ``wf-before`` tool beside this one, for before/after comparisons in one table.
BEFORE = os.environ.get("WF_BENCH_BEFORE", "")


def _wf(
    extra: Callable[[shp.Shape], list[str]], home: str, src: str = ""
) -> Callable[[shp.Shape, Path], list[str]]:
    """A wf command line. Each variant keeps one home per shape, so history accumulates across
    repetitions as it would for a real user (critical-path scheduling weighs by it)."""

    def build(shape: shp.Shape, d: Path) -> list[str]:
        return [
            *(["env", f"PYTHONPATH={src}"] if src else []),
            PY,
            "-m",
            "wf",
            "--home",
            str(d / home),
            "run",
            str(d / "wf.toml"),
            "--plain",
            *extra(shape),
        ]

    return build


def _ws(shape: shp.Shape) -> list[str]:
    return ["--sequential"] if shape.workers == 1 else ["-j", str(shape.workers)]


TOOLS = {
    "wf": Tool("wf", _wf(_ws, "home-wf"), "home-wf"),
    "wf-before": Tool("wf-before", _wf(_ws, "home-before", BEFORE), "home-before"),
    "wf-fifo": Tool(
        "wf-fifo", _wf(lambda s: [*_ws(s), "--schedule", "fifo"], "home-fifo"), "home-fifo"
    ),
    "wf-level": Tool(
        "wf-level",
        _wf(lambda s: ["--parallel", "--max-parallel", str(s.workers)], "home-level"),
        "home-level",
    ),
    "make": Tool(
        "make", lambda s, d: ["make", "-s", "-j", str(s.workers), "-f", str(d / "Makefile")]
    ),
    "ninja": Tool(
        "ninja", lambda s, d: ["ninja", "-j", str(s.workers), "-C", str(d), "-f", "build.ninja"]
    ),
    "doit": Tool(
        "doit",
        lambda s, d: [
            PY,
            "-m",
            "doit",
            "-f",
            str(d / "dodo.py"),
            "--db-file",
            str(d / f"doit-{time.monotonic_ns()}.db"),
            *(["-n", str(s.workers), "-P", "thread"] if s.workers > 1 else []),
        ],
    ),
    "raw": Tool(
        "raw", lambda s, d: [PY, str(HERE / "rawspawn.py"), str(d / "plan.json"), str(s.workers)]
    ),
}

SHAPES = {
    "wide": shp.wide,
    "seq": shp.seq,
    "chain": shp.chain,
    "layered": shp.layered,
    "sleep": shp.sleep,
    "skewed": shp.skewed,
    "scale": shp.scale,
}
DEFAULT_TOOLS = {
    "wide": ["wf", "make", "ninja", "doit", "raw"],
    "seq": ["wf", "make", "ninja", "raw"],
    "chain": ["wf", "make", "ninja", "doit", "raw"],
    "layered": ["wf", "wf-fifo", "wf-level", "make", "ninja", "raw"],
    "sleep": ["wf", "wf-level", "make", "raw"],
    "skewed": ["wf", "wf-fifo", "wf-level", "make", "raw"],
    "scale": ["wf", "make", "raw"],
}


def available(tool: str) -> bool:
    if tool in ("make", "ninja"):
        return shutil.which(tool) is not None
    if tool == "doit":
        return importlib.util.find_spec("doit") is not None
    if tool == "wf-before":
        return bool(BEFORE)
    return True


def run_once(cmd: list[str], cwd: Path) -> tuple[float, float, int, int]:
    """Wall seconds, CPU seconds (user + system of the tool and every process it waited for:
    its tasks), peak RSS (KiB) of the process tree's largest process, exit code."""
    for leftover in (".ninja_log", ".ninja_deps"):
        (cwd / leftover).unlink(missing_ok=True)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 and proc.stderr is not None:
        sys.stderr.write(proc.stderr.read().decode(errors="replace")[-2000:])
    if proc.stderr is not None:
        proc.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, proc.returncode


def precompile_wf() -> None:
    """Write wf's bytecode first, as ``pip install`` does: this machine sets
    PYTHONDONTWRITEBYTECODE, and an editable checkout would otherwise compile every module on
    every start (the reference tools are installed with their bytecode)."""
    spec = importlib.util.find_spec("wf")
    for location in (spec.submodule_search_locations or []) if spec else []:
        compileall.compile_dir(location, quiet=1)
    if BEFORE:
        compileall.compile_dir(str(Path(BEFORE) / "wf"), quiet=1)


def last_run_seconds(home: Path) -> float | None:
    """The recorded duration of the newest run in a wf home: the run alone, without the
    interpreter's start-up, imports and workflow loading."""
    db = home / "wf.db"
    if not db.exists():
        return None
    with contextlib.closing(sqlite3.connect(db)) as conn:
        row = conn.execute(
            "SELECT duration_ms FROM runs ORDER BY start_time DESC, id DESC LIMIT 1"
        ).fetchone()
    return row[0] / 1000 if row and row[0] is not None else None


def bench_shape(name: str, reps: int, tools: list[str]) -> list[dict[str, object]]:
    shape = SHAPES[name]()
    with tempfile.TemporaryDirectory(prefix=f"wfbench-{name}-") as tmp:
        d = Path(tmp)
        shp.write_wf(shape, d / "wf.toml")
        shp.write_make(shape, d / "Makefile")
        shp.write_ninja(shape, d / "build.ninja")
        shp.write_doit(shape, d / "dodo.py")
        shp.write_plan(shape, d / "plan.json")
        tools = [t for t in tools if available(t)]
        times: dict[str, list[float]] = {t: [] for t in tools}
        run_times: dict[str, list[float]] = {t: [] for t in tools}
        cpu: dict[str, list[float]] = {t: [] for t in tools}
        rss: dict[str, int] = dict.fromkeys(tools, 0)
        for rep in range(reps):
            order = tools if rep % 2 == 0 else list(reversed(tools))
            for tool in order:
                wall, cpu_s, maxrss, code = run_once(TOOLS[tool].build(shape, d), d)
                if code != 0:
                    print(f"  {tool} failed on {name} (exit {code})", file=sys.stderr)
                times[tool].append(wall)
                cpu[tool].append(cpu_s)
                home = TOOLS[tool].home
                if home is not None:
                    recorded = last_run_seconds(d / home)
                    if recorded is not None:
                        run_times[tool].append(recorded)
                rss[tool] = max(rss[tool], maxrss)
    base = statistics.median(times["make"]) if "make" in times else None
    rows = []
    for tool in tools:
        med = statistics.median(times[tool])
        rows.append(
            {
                "shape": name,
                "tasks": len(shape.commands),
                "workers": shape.workers,
                "tool": tool,
                "median_s": med,
                "per_task_ms": med / len(shape.commands) * 1000,
                "run_s": statistics.median(run_times[tool]) if run_times[tool] else None,
                "vs_make": med / base if base else None,
                "cpu_s": statistics.median(cpu[tool]),
                "peak_rss_mib": rss[tool] / 1024,
                "lower_bound_s": shape.lower_bound(),
            }
        )
    return rows


def table(rows: list[dict[str, object]]) -> str:
    out = [
        "| shape | tasks | workers | tool | median s | per task ms | × make | efficiency "
        "| run s | run efficiency | CPU s | peak RSS MiB |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        vs = f"{r['vs_make']:.2f}" if r["vs_make"] is not None else "-"
        lb = float(r["lower_bound_s"])  # type: ignore[arg-type]
        eff = f"{lb / float(r['median_s']):.2f}" if lb else "-"  # type: ignore[arg-type]
        run_s = r["run_s"]
        run_text = f"{float(run_s):.3f}" if run_s is not None else "-"  # type: ignore[arg-type]
        run_eff = f"{lb / float(run_s):.2f}" if lb and run_s else "-"  # type: ignore[arg-type]
        out.append(
            f"| {r['shape']} | {r['tasks']} | {r['workers']} | {r['tool']} | "
            f"{float(r['median_s']):.3f} | {float(r['per_task_ms']):.3f} | {vs} | {eff} | "  # type: ignore[arg-type]
            f"{run_text} | {run_eff} | {float(r['cpu_s']):.3f} | "  # type: ignore[arg-type]
            f"{float(r['peak_rss_mib']):.0f} |"  # type: ignore[arg-type]
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="wide,seq,chain,layered,sleep,skewed,scale")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--tools", default="", help="comma list; default per shape")
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    precompile_wf()
    for name in args.shapes.split(","):
        tools = args.tools.split(",") if args.tools else DEFAULT_TOOLS[name]
        reps = 1 if name == "scale" and args.reps > 1 else args.reps
        print(f"== {name} ({reps} reps: {', '.join(tools)})", file=sys.stderr)
        rows.extend(bench_shape(name, max(reps, 1), tools))
    text = table(rows)
    print(text)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
