"""Levels with Kahn's algorithm, and a deterministic cycle path if there are none.

See docs/executors.md.
"""

from __future__ import annotations

from collections.abc import Iterator

from wf.dag.model import Node

__all__ = ["assign_levels", "cycle_message"]


def assign_levels(nodes: dict[str, Node]) -> tuple[list[list[str]], list[str] | None]:
    """Set each node's ``level`` and ``can_run_in_parallel``; return the sorted levels.

    Every node sits one level below its deepest dependency. When the graph has a cycle, the
    levels are empty and the second item is the cycle as a closed path (``[a, b, a]``).
    Dependencies and dependents must already be linked, without duplicates.
    """
    missing = {node_id: len(node.dependencies) for node_id, node in nodes.items()}
    depth = dict.fromkeys(nodes, 0)
    # Breadth-first: ``order`` doubles as the queue, read from ``index`` onwards.
    order = [node_id for node_id, count in missing.items() if count == 0]
    index = 0
    while index < len(order):
        node_id = order[index]
        index += 1
        below = depth[node_id] + 1
        for dependent in nodes[node_id].dependents:
            depth[dependent] = max(depth[dependent], below)
            count = missing[dependent] - 1
            missing[dependent] = count
            if count == 0:
                order.append(dependent)
    if len(order) < len(nodes):
        return [], find_cycle(nodes, {node_id for node_id, count in missing.items() if count})

    levels: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for node_id in order:
        levels[depth[node_id]].append(node_id)
    for level_index, level in enumerate(levels):
        level.sort()
        parallel = len(level) > 1
        for node_id in level:
            node = nodes[node_id]
            node.level = level_index
            node.can_run_in_parallel = parallel
    return levels, None


def find_cycle(nodes: dict[str, Node], remaining: set[str]) -> list[str]:
    """A closed path through REMAINING (the nodes Kahn could not order), found depth-first.

    The search starts from the remaining nodes in sorted order and follows dependents in
    sorted order, so the same graph always reports the same path.
    """
    state: dict[str, bool] = {}  # False: on the current path; True: fully explored
    for start in sorted(remaining):
        if start in state:
            continue
        path = [start]
        position = {start: 0}
        state[start] = False
        stack: list[Iterator[str]] = [iter(nodes[start].dependents)]
        while stack:
            for following in stack[-1]:
                if following not in remaining:
                    continue
                seen = state.get(following)
                if seen is False:
                    return [*path[position[following] :], following]
                if seen is None:
                    state[following] = False
                    position[following] = len(path)
                    path.append(following)
                    stack.append(iter(nodes[following].dependents))
                    break
            else:
                done = path.pop()
                del position[done]
                state[done] = True
                stack.pop()
    raise AssertionError("find_cycle called on nodes without a cycle")


def cycle_message(cycle: list[str]) -> str:
    """'circular dependency detected: a -> b -> a'."""
    return "circular dependency detected: " + " -> ".join(cycle)
