"""The raw-spawn baseline: spawn every task with /bin/sh -c respecting the DAG, no bookkeeping."""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    with open(sys.argv[1]) as fh:
        plan = json.load(fh)
    workers = int(sys.argv[2])
    commands: dict[str, str] = plan["commands"]
    deps: dict[str, list[str]] = plan["deps"]
    remaining = {n: len(deps.get(n, [])) for n in commands}
    dependents: dict[str, list[str]] = {n: [] for n in commands}
    for node, ds in deps.items():
        for d in ds:
            dependents[d].append(node)
    ready = sorted(n for n, c in remaining.items() if c == 0)
    running: dict[int, str] = {}
    env = dict(os.environ)
    while ready or running:
        while ready and len(running) < workers:
            node = ready.pop(0)
            pid = os.posix_spawn("/bin/sh", ["/bin/sh", "-c", commands[node]], env)
            running[pid] = node
        pid, status = os.wait()
        node = running.pop(pid)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(1)
        for child in dependents[node]:
            remaining[child] -= 1
            if remaining[child] == 0:
                ready.append(child)


if __name__ == "__main__":
    main()
