"""Incremental runs (docs/caching.md): is a node up to date, why not, and its cache record.

The lifecycle asks ``RunCache.decide`` once a node is prepared and before any attempt: an
up-to-date node ends ``cached`` (``cached_outcome``: no attempt row, no process, its
registered variables restored); any other node runs, and its success writes a new record
(``record_success``). ``explain_plan`` makes the same decisions for ``--dry-run --explain``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from wf.contextmap import (
    ContextMap,
    ContextMapError,
    Variable,
    referenced_names,
)
from wf.dag.model import DAG, TaskDefinition
from wf.executor.events import ProgressEventKind as K
from wf.executor.prepare import EarlyFailure, interpolated
from wf.executor.runstate import NodeResult, NodeStatus, RunState
from wf.storage import Store
from wf.storage.times import now_utc

if TYPE_CHECKING:
    # The file layer (wf.cache: globs, hashes, keys) is imported when the first node with
    # inputs is decided: a workflow without inputs never loads it (start-up time).
    from wf.cache import FileHasher, FileInfo
    from wf.cache.hashing import FileStat
    from wf.storage.cache import CacheHead, CacheRecord

UP_TO_DATE = "up to date"
NO_INPUTS = "no inputs declared"
NO_RECORD = "no earlier success"
FORCED = "forced"
COMMAND_CHANGED = "command changed"


class CacheInputError(Exception):
    """An ``inputs``/``outputs`` pattern that cannot be interpolated (an early failure)."""


@dataclass(frozen=True)
class CacheOptions:
    """How a run uses the cache: ``force`` ignores every record, ``force_tasks`` those of
    the named nodes (node IDs or matrix base names); ``explain`` puts every node's reason
    in its progress event."""

    force: bool = False
    force_tasks: frozenset[str] = frozenset()
    explain: bool = False


@dataclass
class Decision:
    """Whether one node runs, the first reason, and what its success will record."""

    node_id: str
    run: bool
    reason: str
    key: str = ""
    command: str = ""
    read_variables: dict[str, str | None] = field(default_factory=dict)
    inputs: dict[str, FileInfo] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    base: str = ""
    record: CacheHead | None = None
    #: The record with file identities that can be trusted now (None: nothing to add).
    refresh: CacheRecord | None = None


def variables_read(task: TaskDefinition) -> list[str]:
    """Every variable the node reads: those of the fingerprint and of its glob patterns."""
    from wf.executor.fingerprint import referenced_variables

    names = set(referenced_variables(task))
    for pattern in (*task.inputs, *task.outputs):
        names |= referenced_names(pattern)
    return sorted(names)


def _interpolate(ctx: ContextMap, node_id: str, patterns: list[str], key: str) -> list[str]:
    try:
        return [interpolated(ctx, node_id, pattern, key) for pattern in patterns]
    except EarlyFailure as exc:
        raise CacheInputError(str(exc)) from exc


def _forced(task: TaskDefinition, node_id: str, options: CacheOptions) -> bool:
    return options.force or node_id in options.force_tasks or task.id in options.force_tasks


def _refreshed(
    record: CacheRecord, inputs: Mapping[str, FileInfo], outputs: Mapping[str, FileInfo]
) -> CacheRecord | None:
    """RECORD with the identities of its files as they can be trusted now, if that differs:
    files hashed while still recent are then checked by ``stat`` alone on later runs."""
    from wf.cache.unchanged import manifest_identities

    input_manifest = {p: i.manifest_entry() for p, i in inputs.items()}
    output_manifest = {p: i.manifest_entry() for p, i in outputs.items()}
    identities = manifest_identities(input_manifest, output_manifest)
    if (
        input_manifest == record.input_manifest
        and output_manifest == record.output_manifest
        and identities == record.identities
    ):
        return None
    return replace(
        record,
        input_manifest=input_manifest,
        output_manifest=output_manifest,
        identities=identities,
    )


def _compare_files(
    current: Mapping[str, FileInfo], recorded: Mapping[str, list[object]], kind: str
) -> str | None:
    """The first difference between two manifests, in path order, as a reason."""
    for path in sorted(current.keys() | recorded.keys()):
        if path not in recorded:
            return f"{kind} added: {path}"
        if path not in current:
            return f"{kind} removed: {path}" if kind == "input" else f"output missing: {path}"
        if current[path].sha256 != recorded[path][1]:
            return f"{kind} changed: {path}"
    return None


#: Whole records read one query each before the rest are read in one query.
_ONE_BY_ONE = 16


class RunCache:
    """The cache decisions of one run of one workflow (one thread: the engine's).

    It reads every record's head (``CacheHead``: no manifests) in one query when the first
    node needs one; a node whose files still have the recorded identities is up to date
    from its head alone, any other reads its whole record. RECORDS (tests, without a store)
    gives the whole records instead of the store.
    """

    def __init__(
        self,
        store: Store | None,
        workflow_name: str,
        options: CacheOptions | None = None,
        *,
        records: dict[str, CacheRecord] | None = None,
    ) -> None:
        self.store = store
        self.workflow_name = workflow_name
        self.options = options or CacheOptions()
        self._records = records
        self._heads: dict[str, CacheHead] | None = None
        self._fetched = 0  # whole records read one by one
        self._hasher: FileHasher | None = None
        self.pending: dict[str, Decision] = {}
        self._reads: dict[str, list[str]] = {}

    @property
    def hasher(self) -> FileHasher:
        """The run's file hasher (made when the first node with inputs needs it)."""
        if self._hasher is None:
            from wf.cache import FileHasher

            self._hasher = FileHasher(self.store.file_hash if self.store is not None else None)
        return self._hasher

    def take_learned(self) -> list[tuple[str, FileStat, str]]:
        """The hashes the hasher learned since the last call, to store (none if it was
        never needed)."""
        return self._hasher.take_learned() if self._hasher is not None else []

    @property
    def heads(self) -> dict[str, CacheHead]:
        """The heads of the workflow's records, read once, when the first node needs them."""
        if self._heads is None:
            if self.store is not None:
                self._heads = self.store.cache_heads(self.workflow_name)
            else:
                self._heads = {n: r.head() for n, r in (self._records or {}).items()}
        return self._heads

    def record(self, node_id: str) -> CacheRecord | None:
        """The whole record of NODE_ID (its manifests), read when a check needs it: one by
        one for the first few, then all of them at once (a run where most nodes need the
        full check, e.g. the first one after their outputs were written)."""
        if self._records is not None and node_id in self._records:
            return self._records[node_id]
        if self.store is None or self._fetched < 0:
            return None
        if self._fetched >= _ONE_BY_ONE:
            every = self.store.cache_records(self.workflow_name)
            every.update(self._records or {})  # what this run wrote is newer
            self._records = every
            self._fetched = -1  # every record is known now
            return every.get(node_id)
        self._fetched += 1
        record = self.store.cache_record(self.workflow_name, node_id)
        if record is not None:
            if self._records is None:
                self._records = {}
            self._records[node_id] = record
        return record

    def put(self, record: CacheRecord) -> None:
        """Remember RECORD (written or refreshed by this run) for later decisions."""
        if self._records is None:
            self._records = {}
        self._records[record.node_id] = record
        self.heads[record.node_id] = record.head()

    def decide(
        self,
        node_id: str,
        task: TaskDefinition,
        *,
        cmd: str,
        env: Mapping[str, str],
        working_dir: str,
        cwd: str | None,
        clean_env: bool,
        ctx: ContextMap,
        dependency_ran: str | None,
        hash_inputs: bool = True,
    ) -> Decision:
        """Decide NODE_ID (prepared: CMD, ENV and WORKING_DIR interpolated, CWD absolute).

        Raises CacheInputError when a pattern cannot be interpolated. With HASH_INPUTS
        (a real run) the inputs are hashed even when the node runs anyway, for its record.
        """
        forced = _forced(task, node_id, self.options)
        if not task.inputs:
            return Decision(node_id, True, FORCED if forced else NO_INPUTS)
        from wf.cache import command_digest, expand_globs

        inputs = _interpolate(ctx, node_id, task.inputs, "inputs")
        outputs = _interpolate(ctx, node_id, task.outputs, "outputs")
        base = cwd or os.getcwd()
        decision = Decision(node_id, True, "", outputs=outputs, base=base)
        decision.command = command_digest(
            cmd=cmd,
            env=env,
            working_dir=working_dir,
            clean_env=clean_env,
            inputs=inputs,
            outputs=outputs,
        )
        decision.read_variables = {}
        names = self._reads.get(node_id)
        if names is None:
            names = self._reads[node_id] = variables_read(task)
        for name in names:
            var = ctx.lookup(name, task_id=node_id)
            decision.read_variables[name] = None if var is None else var.text
        head = self.heads.get(node_id)
        decision.record = head
        fresh = not forced and head is not None and dependency_ran is None
        if fresh and head is not None and self._unchanged(decision, head, inputs):
            decision.key = head.cache_key
            decision.reason = UP_TO_DATE
            decision.run = False
            return decision
        record = None if forced or head is None else self.record(node_id)
        if record is None:  # no record (or cleared since the heads were read), or forced
            decision.record = None
            decision.reason = FORCED if forced else NO_RECORD
            if hash_inputs:
                decision.inputs = self._hash(expand_globs(inputs, base), base, None)
                decision.key = self._key(decision)
            return decision
        decision.record = record.head()
        decision.reason = self._first_reason(decision, record, inputs, dependency_ran)
        decision.run = decision.reason != UP_TO_DATE
        return decision

    @staticmethod
    def _unchanged(decision: Decision, head: CacheHead, inputs: list[str]) -> bool:
        """The stat-only check (``wf.cache.unchanged``): True when the node is up to date
        without reading a manifest or hashing a file; False means "check fully", not
        "changed"."""
        from wf.cache.key import KEY_VERSION
        from wf.cache.unchanged import current_identities

        return (
            head.identities is not None
            and decision.command == head.command_digest
            and decision.read_variables == head.read_variables
            and head.cache_key.startswith(KEY_VERSION)
            and current_identities(inputs, decision.outputs, decision.base) == head.identities
        )

    def _first_reason(
        self,
        decision: Decision,
        record: CacheRecord,
        inputs: list[str],
        dependency_ran: str | None,
    ) -> str:
        from wf.cache import expand_globs
        from wf.cache.globs import expand_pattern

        for name in sorted(decision.read_variables.keys() | record.read_variables.keys()):
            if decision.read_variables.get(name) != record.read_variables.get(name):
                return f"variable changed: {name}"
        if decision.command != record.command_digest:
            decision.inputs = self._hash(expand_globs(inputs, decision.base), decision.base, None)
            decision.key = self._key(decision)
            return COMMAND_CHANGED
        base = decision.base
        decision.inputs = self._hash(expand_globs(inputs, base), base, record.input_manifest)
        decision.key = self._key(decision)
        changed = _compare_files(decision.inputs, record.input_manifest, "input")
        if changed is not None:
            return changed
        if decision.key != record.cache_key:  # equal parts make equal keys; kept as the rule
            return COMMAND_CHANGED
        output_paths: set[str] = set()
        for pattern in decision.outputs:
            matched = expand_pattern(pattern, base)
            if not matched:
                return f"output missing: {pattern}"
            output_paths.update(matched)
        outputs = self._hash(sorted(output_paths), base, record.output_manifest)
        changed = _compare_files(outputs, record.output_manifest, "output")
        if changed is not None:
            return changed.replace("output added:", "output changed:")
        if dependency_ran is not None:
            return f"dependency ran: {dependency_ran}"
        decision.refresh = _refreshed(record, decision.inputs, outputs)
        return UP_TO_DATE

    def _hash(
        self, paths: list[str], base: str, known: Mapping[str, list[object]] | None
    ) -> dict[str, FileInfo]:
        out: dict[str, FileInfo] = {}
        prefix = base.rstrip("/") + "/"
        for path in paths:
            full = path if path.startswith("/") else prefix + path
            try:
                out[path] = self.hasher.info(full, known, path)
            except FileNotFoundError:
                continue  # removed between the glob and the stat
        return out

    @staticmethod
    def _key(decision: Decision) -> str:
        from wf.cache import cache_key

        files = [(path, info.size, info.sha256) for path, info in decision.inputs.items()]
        return cache_key(decision.command, decision.read_variables, files)

    # -- recording ------------------------------------------------------------------------
    def remember(self, decision: Decision) -> None:
        """Keep the decision of a node that runs, for ``record_success``."""
        if decision.key:
            self.pending[decision.node_id] = decision

    def success_record(
        self, node_id: str, run_id: str, registered: list[Variable]
    ) -> CacheRecord | None:
        """The new record of NODE_ID after its success (None when it has no inputs)."""
        decision = self.pending.pop(node_id, None)
        if decision is None:
            return None
        from wf.cache import expand_globs
        from wf.cache.unchanged import manifest_identities
        from wf.storage.cache import CacheRecord

        outputs = self._hash(expand_globs(decision.outputs, decision.base), decision.base, None)
        input_manifest = {p: i.manifest_entry() for p, i in decision.inputs.items()}
        output_manifest = {p: i.manifest_entry() for p, i in outputs.items()}
        return CacheRecord(
            workflow_name=self.workflow_name,
            node_id=node_id,
            cache_key=decision.key,
            command_digest=decision.command,
            read_variables=dict(decision.read_variables),
            input_manifest=input_manifest,
            output_manifest=output_manifest,
            variables=[{"name": v.name, "value": v.text, "type": v.type} for v in registered],
            run_id=run_id,
            created_at=now_utc(),
            identities=manifest_identities(input_manifest, output_manifest),
        )


# -- the lifecycle's call sites ---------------------------------------------------------------
def dependency_that_ran(rs: RunState, node_id: str) -> str | None:
    """The first dependency (by ID) that ran an attempt in this invocation, or None."""
    for dep in sorted(rs.dag.nodes[node_id].dependencies):
        result = rs.results.get(dep)
        if result is not None and result.status in (NodeStatus.SUCCESS, NodeStatus.FAILED):
            return dep
    return None


def decide_node(
    rs: RunState,
    node_id: str,
    task: TaskDefinition,
    *,
    cmd: str,
    env: Mapping[str, str],
    working_dir: str,
    cwd: str | None,
    force: bool = False,
) -> Decision | None:
    """The lifecycle's question before the first attempt (None: the run has no cache).

    FORCE (a resume selection flag) runs the node whatever the cache says."""
    cache = rs.cache
    if cache is None:
        return None
    decision = cache.decide(
        node_id,
        task,
        cmd=cmd,
        env=env,
        working_dir=working_dir,
        cwd=cwd,
        clean_env=rs.clean_env or task.clean_env,
        ctx=rs.ctx,
        dependency_ran=dependency_that_ran(rs, node_id),
    )
    learned = cache.take_learned()
    if learned:
        rs.writer.submit(lambda store: store.put_file_hashes(learned))
    if force and not decision.run:
        decision.run, decision.reason = True, FORCED
    if decision.run:
        cache.remember(decision)
    return decision


def announced_reason(rs: RunState, task: TaskDefinition, decision: Decision | None) -> str | None:
    """The reason a running node carries in its events: set for nodes with inputs, for
    forced runs, and for every node with ``explain``."""
    cache = rs.cache
    if decision is None or cache is None:
        return None
    if task.inputs or cache.options.explain or decision.reason == FORCED:
        return decision.reason
    return None


def cached_outcome(rs: RunState, node_id: str, name: str, decision: Decision) -> NodeResult:
    """End an up-to-date node: variables restored, a hit recorded, events, no attempt."""
    record = decision.record
    assert record is not None
    now = now_utc()
    for item in record.variables:
        var = Variable.from_text(item["name"], item["value"], item["type"], node_id, now, False)
        try:
            rs.ctx.set(node_id, var.name, var.value)
        except ContextMapError:
            rs.ctx.restore_variable(var)
    if record.variables:
        rs.snapshot("checkpoint", full=False)
    from wf.storage.cache import CacheHit

    hit = CacheHit(
        run_id=rs.run_id,
        task_id=node_id,
        task_name=name,
        cache_key=decision.key,
        source_run_id=record.run_id,
        created_at=now,
    )
    run_id = rs.run_id
    rs.writer.submit(lambda store: store.create_cache_hit(hit))
    refresh = decision.refresh
    if refresh is not None and rs.cache is not None:
        rs.cache.put(refresh)
        rs.writer.submit(lambda store: store.refresh_cache_record(refresh))
    if rs.dag.nodes.get(node_id) is not None and rs.dag.nodes[node_id].dependencies:
        rs.writer.submit(lambda store: store.mark_dependency_satisfied(run_id, node_id))
    rs.audit(
        "task_cached",
        {"task_id": node_id, "cache_key": decision.key, "source_run_id": record.run_id},
    )
    rs.emit(K.TASK_SKIPPED, task_id=node_id, task_name=name, status="cached", reason=UP_TO_DATE)
    return NodeResult(node_id, NodeStatus.CACHED, end_time=now)


def record_success(rs: RunState, node_id: str) -> None:
    """After a success: replace the node's cache record (nodes with inputs only)."""
    cache = rs.cache
    if cache is None or node_id not in cache.pending:
        return
    registered = [v for v in rs.ctx.snapshot() if v.owner == node_id]
    node = rs.dag.nodes.get(node_id)
    if node is not None and node.is_expanded:
        registered = [v for v in registered if v.name not in node.matrix_vars]
    record = cache.success_record(node_id, rs.run_id, registered)
    learned = cache.take_learned()
    if record is None:
        return
    cache.put(record)

    def write(store: Store) -> None:
        store.put_file_hashes(learned)
        store.put_cache_record(record)

    rs.writer.submit(write)


def log_dir_nodes(rs: RunState, nodes: list[str]) -> list[str]:
    """The NODES whose log directories are worth making ahead (``wf.executor.logdirs``):
    all but those with a cache record, which are likely up to date and then never write a
    log (a cached run would otherwise leave an empty directory per node). A node without
    inputs always runs: a workflow without inputs reads no record here."""
    cache = rs.cache
    if cache is None or cache.options.force:
        return nodes
    dag_nodes = rs.dag.nodes
    if not any(dag_nodes[n].task.inputs for n in nodes if n in dag_nodes):
        return nodes
    heads = cache.heads
    forced = cache.options.force_tasks
    return [
        n
        for n in nodes
        if n not in heads
        or n in forced
        or (n in rs.dag.nodes and rs.dag.nodes[n].task.id in forced)
    ]


def make_run_cache(store: Store, dag: DAG, options: CacheOptions | None) -> RunCache:
    """The run's cache (its records are read when the first node with inputs needs them)."""
    return RunCache(store, dag.name, options)


# -- --explain --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Explanation:
    """One node of ``--explain``: whether it would run, and the first reason."""

    node_id: str
    run: bool
    reason: str

    def to_dict(self) -> dict[str, object]:
        """``{id, run, reason}``."""
        return {"id": self.node_id, "run": self.run, "reason": self.reason}


def explain_plan(
    store: Store,
    dag: DAG,
    *,
    options: CacheOptions | None = None,
    runtime_vars: Mapping[str, str] | None = None,
    clean_env: bool = False,
) -> list[Explanation]:
    """What a run of DAG would do now, node by node in sequential order, without running it.

    Nodes that would be up to date lend their recorded variables to their dependents; a
    node whose values cannot be known before the run (a variable that a running upstream
    node registers) is explained by that upstream node.
    """
    from wf.contextmap import RUNTIME_OWNER

    cache = RunCache(store, dag.name, options)
    ctx = ContextMap()
    for key, value in (runtime_vars or {}).items():
        ctx.set(RUNTIME_OWNER, key, value)
    would_run: dict[str, bool] = {}
    out: list[Explanation] = []
    for node_id in dag.sequential_order():
        node = dag.nodes[node_id]
        task = node.task
        ran = next((d for d in sorted(node.dependencies) if would_run.get(d)), None)
        try:
            if node.is_expanded:
                ctx.set_matrix(node_id, dict(node.matrix_vars))
            if task.condition and not ctx.eval_condition(task.condition, task_id=node_id):
                would_run[node_id] = False
                out.append(Explanation(node_id, False, "condition false"))
                continue
            cmd = ctx.interpolate(task.cmd, task_id=node_id)
            env = {k: ctx.interpolate(v, task_id=node_id) for k, v in task.env.items()}
            working_dir = ctx.interpolate(task.working_dir, task_id=node_id)
            cwd = os.path.abspath(working_dir) if working_dir else None
            decision = cache.decide(
                node_id,
                task,
                cmd=cmd,
                env=env,
                working_dir=working_dir,
                cwd=cwd,
                clean_env=clean_env or task.clean_env,
                ctx=ctx,
                dependency_ran=ran,
                hash_inputs=False,
            )
        except (ContextMapError, CacheInputError) as exc:
            reason = f"dependency ran: {ran}" if ran else f"cannot check before the run: {exc}"
            if not task.inputs:
                reason = FORCED if _forced(task, node_id, cache.options) else NO_INPUTS
            would_run[node_id] = True
            out.append(Explanation(node_id, True, reason))
            continue
        if not decision.run and decision.record is not None:
            for item in decision.record.variables:
                var = Variable.from_text(
                    item["name"], item["value"], item["type"], node_id, now_utc(), False
                )
                try:
                    ctx.set(node_id, var.name, var.value)
                except ContextMapError:
                    ctx.restore_variable(var)
        would_run[node_id] = decision.run
        out.append(Explanation(node_id, decision.run, decision.reason))
    return out
