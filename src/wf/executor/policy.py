"""Scheduler policies (docs/executors.md): which ready nodes may start now. Pure: no I/O, no clock.

Every policy also keeps the resource pools (docs/workflow-files.md#resource-pools): a node
starts only when its weights fit in what its pools have left, and holds them until it finishes.
A ready node that does not fit is passed over, never blocking the nodes behind it that fit.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from wf.storage.models import ExecutionMode


class SchedulerPolicy(Protocol):
    """Decides the start order of nodes; the engine reports every finish back."""

    mode: ExecutionMode
    #: A non-ignored final failure stops the run at once and cancels what runs (work-stealing).
    fail_fast: bool

    def next_ready(self, free_slots: int) -> list[str]:
        """Nodes to start now, in order, at most FREE_SLOTS of them."""
        ...

    def finished(self, node_id: str, *, completed: bool) -> None:
        """NODE_ID ended; ``completed`` when it counts as done for its dependents."""
        ...

    def stop(self) -> None:
        """Start nothing new from now on (fail-fast or cancellation)."""
        ...

    @property
    def running(self) -> frozenset[str]:
        """Nodes started and not yet finished."""
        ...

    @property
    def started(self) -> frozenset[str]:
        """Every node ever handed out."""
        ...


class PoolGate:
    """The weights in flight per pool; a node is let through only if all its weights fit."""

    def __init__(
        self, capacities: Mapping[str, int], demands: Mapping[str, Mapping[str, int]]
    ) -> None:
        self._capacity = dict(capacities)
        self._demand = {node: dict(weights) for node, weights in demands.items() if weights}
        for node, weights in self._demand.items():
            for pool, weight in weights.items():
                if weight < 1 or weight > self._capacity.get(pool, 0):
                    raise ValueError(
                        f"task {node}: weight {weight} does not fit pool {pool!r} "
                        f"(capacity {self._capacity.get(pool, 0)})"
                    )
        self._used = dict.fromkeys(self._capacity, 0)

    def fits(self, node_id: str) -> bool:
        """Whether NODE_ID's weights fit in what its pools have left now."""
        weights = self._demand.get(node_id)
        if not weights:
            return True
        return all(self._used[p] + w <= self._capacity[p] for p, w in weights.items())

    def take(self, node_id: str) -> None:
        """NODE_ID starts: its weights are in flight."""
        for pool, weight in self._demand.get(node_id, {}).items():
            self._used[pool] += weight

    def give(self, node_id: str) -> None:
        """NODE_ID finished: its weights are free again."""
        for pool, weight in self._demand.get(node_id, {}).items():
            self._used[pool] -= weight

    @property
    def in_use(self) -> dict[str, int]:
        """Pool name -> weight in flight."""
        return dict(self._used)


class _Base:
    """Shared state: the scheduled nodes, their in-set dependencies, running and started sets."""

    mode = ExecutionMode.SEQUENTIAL
    fail_fast = False

    def __init__(
        self,
        nodes: Sequence[str],
        dependencies: Mapping[str, Iterable[str]],
        pools: PoolGate | None = None,
    ) -> None:
        self._pools = pools
        self._nodes = list(nodes)
        scheduled = set(self._nodes)
        self._deps = {n: sorted(set(dependencies.get(n, ())) & scheduled) for n in self._nodes}
        self._dependents: dict[str, list[str]] = {n: [] for n in self._nodes}
        for node, deps in self._deps.items():
            for dep in deps:
                self._dependents[dep].append(node)
        for children in self._dependents.values():
            children.sort()
        self._running: set[str] = set()
        self._started: set[str] = set()
        self._stopped = False

    @property
    def running(self) -> frozenset[str]:
        return frozenset(self._running)

    @property
    def started(self) -> frozenset[str]:
        return frozenset(self._started)

    def stop(self) -> None:
        self._stopped = True

    def _fits(self, node_id: str) -> bool:
        return self._pools is None or self._pools.fits(node_id)

    def _start(self, node_id: str) -> None:
        if node_id in self._started:
            raise RuntimeError(f"node {node_id} handed out twice")
        self._started.add(node_id)
        self._running.add(node_id)
        if self._pools is not None:
            self._pools.take(node_id)

    def _finish(self, node_id: str) -> None:
        if node_id not in self._running:
            raise RuntimeError(f"node {node_id} finished but was not running")
        self._running.discard(node_id)
        if self._pools is not None:
            self._pools.give(node_id)


class SequentialPolicy(_Base):
    """One node at a time in the sequential order; the first failure stops everything."""

    mode = ExecutionMode.SEQUENTIAL

    def __init__(
        self,
        order: Sequence[str],
        dependencies: Mapping[str, Iterable[str]],
        pools: PoolGate | None = None,
    ) -> None:
        super().__init__(order, dependencies, pools)
        self._next = 0

    def next_ready(self, free_slots: int) -> list[str]:
        # One node at a time: alone, a node always fits its pools (weights <= capacities).
        if self._stopped or self._running or free_slots < 1 or self._next >= len(self._nodes):
            return []
        node_id = self._nodes[self._next]
        self._next += 1
        self._start(node_id)
        return [node_id]

    def finished(self, node_id: str, *, completed: bool) -> None:
        self._finish(node_id)
        if not completed:
            self._stopped = True


class LevelPolicy(_Base):
    """Level by level; a level always completes; after a failed level nothing else starts."""

    mode = ExecutionMode.PARALLEL

    def __init__(
        self,
        levels: Sequence[Sequence[str]],
        dependencies: Mapping[str, Iterable[str]],
        pools: PoolGate | None = None,
    ) -> None:
        self._levels = [list(level) for level in levels if level]
        super().__init__([n for level in self._levels for n in level], dependencies, pools)
        self._level = 0
        self._pending: deque[str] = deque(self._levels[0] if self._levels else ())
        self._level_failed = False

    def next_ready(self, free_slots: int) -> list[str]:
        if self._stopped:
            return []
        if not self._pending and not self._running:
            self._advance()
        out: list[str] = []
        passed_over: list[str] = []  # ready but not fitting their pools now
        while self._pending and len(out) < free_slots and not self._stopped:
            node_id = self._pending.popleft()
            if not self._fits(node_id):
                passed_over.append(node_id)
                continue
            self._start(node_id)
            out.append(node_id)
        self._pending.extendleft(reversed(passed_over))
        return out

    def _advance(self) -> None:
        if self._level_failed:
            self._stopped = True
            return
        self._level += 1
        if self._level < len(self._levels):
            self._pending = deque(self._levels[self._level])

    def finished(self, node_id: str, *, completed: bool) -> None:
        self._finish(node_id)
        if not completed:
            self._level_failed = True

    def stop(self) -> None:
        self._stopped = True
        self._pending.clear()


class WorkStealingPolicy(_Base):
    """Dependency-driven: a node is released the moment its last dependency completes.

    Released nodes wait in a ready queue: first released, first served (nodes released together
    in ID order), or, with ``priority``, highest priority first (ties by ID).
    """

    mode = ExecutionMode.WORK_STEALING
    fail_fast = True

    def __init__(
        self,
        nodes: Sequence[str],
        dependencies: Mapping[str, Iterable[str]],
        *,
        priority: Mapping[str, float] | None = None,
        pools: PoolGate | None = None,
    ) -> None:
        super().__init__(sorted(nodes), dependencies, pools)
        self._priority = priority
        self._remaining = {n: len(self._deps[n]) for n in self._nodes}
        self._ready: list[tuple[float, int, str]] = []
        self._seq = 0
        self._release([n for n in self._nodes if self._remaining[n] == 0])

    def _release(self, node_ids: list[str]) -> None:
        for node_id in sorted(node_ids):
            if self._priority is not None:
                key = (-self._priority.get(node_id, 0.0), 0, node_id)
            else:
                key = (0.0, self._seq, node_id)
                self._seq += 1
            heapq.heappush(self._ready, key)

    def next_ready(self, free_slots: int) -> list[str]:
        out: list[str] = []
        passed_over: list[tuple[float, int, str]] = []  # ready but not fitting their pools now
        while self._ready and len(out) < free_slots and not self._stopped:
            entry = heapq.heappop(self._ready)
            if not self._fits(entry[2]):
                passed_over.append(entry)
                continue
            self._start(entry[2])
            out.append(entry[2])
        for entry in passed_over:
            heapq.heappush(self._ready, entry)
        return out

    def finished(self, node_id: str, *, completed: bool) -> None:
        self._finish(node_id)
        if not completed:
            return
        released = []
        for child in self._dependents[node_id]:
            self._remaining[child] -= 1
            if self._remaining[child] == 0:
                released.append(child)
        self._release(released)

    def stop(self) -> None:
        self._stopped = True
        self._ready = []
