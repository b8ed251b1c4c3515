"""The up-to-date rule and each reason of ``--explain`` (docs/caching.md), node by node."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wf.cache.hashing import RACY_NS
from wf.contextmap import ContextMap
from wf.dag.model import TaskDefinition
from wf.executor.cache import CacheInputError, CacheOptions, Decision, RunCache
from wf.storage import Store
from wf.storage.cache import CacheRecord


class Node:
    """One task decided again and again against the records of earlier successes."""

    def __init__(self, base: Path, trusted: bool = False, **task: object) -> None:
        self.base = base
        #: Whether files count as old enough to be trusted (the stat-only check applies).
        self.trusted = trusted
        self.task = TaskDefinition(id="build", cmd="make", **task)  # type: ignore[arg-type]
        self.records: dict[str, CacheRecord] = {}
        self.ctx = ContextMap()

    def decide(
        self,
        *,
        options: CacheOptions | None = None,
        cmd: str = "make",
        dependency_ran: str | None = None,
        trusted: bool | None = None,
    ) -> Decision:
        return self.decide_with(
            self.cache(options, trusted), cmd=cmd, dependency_ran=dependency_ran
        )

    def cache(self, options: CacheOptions | None = None, trusted: bool | None = None) -> RunCache:
        cache = RunCache(None, "wf", options, records=self.records)
        if self.trusted if trusted is None else trusted:
            cache.hasher._clock_ns = lambda: 2**62  # every file old enough to be trusted
        return cache

    def decide_with(
        self, cache: RunCache, *, cmd: str = "make", dependency_ran: str | None = None
    ) -> Decision:
        return cache.decide(
            "build",
            self.task,
            cmd=cmd,
            env={},
            working_dir="",
            cwd=str(self.base),
            clean_env=False,
            ctx=self.ctx,
            dependency_ran=dependency_ran,
        )

    def succeed(self, *, cmd: str = "make", trusted: bool | None = None) -> Decision:
        """Decide, then record a success as the lifecycle does. With trusted files, return
        once a rewrite would get a new ctime (see ``wait_for_clock_tick``)."""
        cache = self.cache(trusted=trusted)
        decision = self.decide_with(cache, cmd=cmd)
        cache.remember(decision)
        record = cache.success_record("build", "run-1", [])
        assert record is not None
        self.records["build"] = record
        if self.trusted if trusted is None else trusted:
            wait_for_clock_tick(self.base)
        return decision


def wait_for_clock_tick(base: Path) -> None:
    """Return once the file-system clock is past every ctime under BASE: a rewrite then gets
    a new ctime. (A rewrite within the same tick is the racy case that the real clock rules
    out by never trusting recent files; tests that fake an old clock must wait.)"""
    newest = max(os.stat(p).st_ctime_ns for p in base.rglob("*"))
    probe = base.parent / f"{base.name}.probe"
    while True:
        probe.write_text("p")
        if os.stat(probe).st_ctime_ns > newest:
            return


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture(params=[False, True], ids=["recent-files", "trusted-files"])
def node(tmp_path: Path, request: pytest.FixtureRequest) -> Node:
    """A node over two sources and one output; with trusted files the record carries an
    identity digest and every check first tries the stat-only path."""
    write(tmp_path / "src/a.c", "int a;")
    write(tmp_path / "src/b.c", "int b;")
    write(tmp_path / "out/app", "binary")
    return Node(tmp_path, bool(request.param), inputs=["src/*.c"], outputs=["out/app"])


def test_no_inputs_declared(tmp_path: Path) -> None:
    decision = Node(tmp_path).decide()
    assert (decision.run, decision.reason) == (True, "no inputs declared")


@pytest.mark.parametrize(
    ("inputs", "outputs", "error"),
    [
        (["{{.missing}}/*.c"], [], 'interpolation failed in inputs: undefined variable "missing"'),
        (["src/*.c"], ["{{.gone}}"], 'interpolation failed in outputs: undefined variable "gone"'),
        (["{{.nul}}"], [], "interpolation failed in inputs: result contains a NUL byte"),
    ],
)
def test_a_pattern_that_cannot_be_interpolated_is_an_input_error(
    tmp_path: Path, inputs: list[str], outputs: list[str], error: str
) -> None:
    node = Node(tmp_path, inputs=inputs, outputs=outputs)
    node.ctx.set("__runtime__", "nul", "a\x00b")
    with pytest.raises(CacheInputError) as caught:
        node.decide()
    assert str(caught.value) == error


def test_no_earlier_success(node: Node) -> None:
    assert (node.decide().run, node.decide().reason) == (True, "no earlier success")


def test_up_to_date_after_a_success(node: Node) -> None:
    node.succeed()
    decision = node.decide()
    assert (decision.run, decision.reason) == (False, "up to date")
    assert decision.key == node.records["build"].cache_key


def test_forced_by_force_and_by_force_task(node: Node) -> None:
    node.succeed()
    assert node.decide(options=CacheOptions(force=True)).reason == "forced"
    assert node.decide(options=CacheOptions(force_tasks=frozenset({"build"}))).reason == "forced"
    assert not node.decide(options=CacheOptions(force_tasks=frozenset({"other"}))).run


def test_input_changed(node: Node) -> None:
    node.succeed()
    write(node.base / "src/b.c", "int B;")
    assert node.decide().reason == "input changed: src/b.c"


def test_input_added(node: Node) -> None:
    node.succeed()
    write(node.base / "src/c.c", "int c;")
    assert node.decide().reason == "input added: src/c.c"


def test_input_removed(node: Node) -> None:
    node.succeed()
    os.remove(node.base / "src/a.c")
    assert node.decide().reason == "input removed: src/a.c"


def test_output_missing(node: Node) -> None:
    node.succeed()
    os.remove(node.base / "out/app")
    assert node.decide().reason == "output missing: out/app"


def test_output_changed(node: Node) -> None:
    node.succeed()
    write(node.base / "out/app", "tampered")
    assert node.decide().reason == "output changed: out/app"


def test_command_changed(node: Node) -> None:
    node.succeed()
    assert node.decide(cmd="make -j4").reason == "command changed"


def test_variable_changed(node: Node) -> None:
    node.task.cmd = "make REGION={{.region}}"
    node.ctx.set("__runtime__", "region", "eu")
    node.succeed(cmd="make REGION=eu")
    node.ctx = ContextMap()
    node.ctx.set("__runtime__", "region", "us")
    assert node.decide(cmd="make REGION=us").reason == "variable changed: region"


def test_dependency_ran(node: Node) -> None:
    node.succeed()
    assert node.decide(dependency_ran="fetch").reason == "dependency ran: fetch"


def test_a_stat_only_check_reads_no_file(node: Node) -> None:
    node.succeed(trusted=True)
    cache = node.cache(trusted=True)
    decision = node.decide_with(cache)
    assert not decision.run
    assert cache.hasher.files_read == 0


def test_racy_window_is_at_least_a_second() -> None:
    assert RACY_NS >= 1_000_000_000


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    first=st.dictionaries(
        st.sampled_from(["a.c", "b.c", "sub/c.c", "sub/deep/d.c"]),
        st.binary(max_size=8),
        min_size=1,
    ),
    second=st.dictionaries(
        st.sampled_from(["a.c", "b.c", "sub/c.c", "sub/deep/d.c"]),
        st.binary(max_size=8),
        min_size=1,
    ),
    trusted=st.booleans(),
)
def test_the_cache_never_skips_a_task_whose_inputs_differ(
    tmp_path_factory: pytest.TempPathFactory,
    first: dict[str, bytes],
    second: dict[str, bytes],
    trusted: bool,
) -> None:
    base = tmp_path_factory.mktemp("tree")
    for name, data in first.items():
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_bytes(data)
    node = Node(base, inputs=["**/*.c"])
    node.succeed(trusted=trusted)
    if trusted:
        wait_for_clock_tick(base)
    for name in first:
        if name not in second:
            os.remove(base / name)
    for name, data in second.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if first.get(name) != data:
            st_before = os.stat(path) if path.exists() else None
            path.write_bytes(data)
            if st_before is not None:  # keep mtime, as cp -p or touch -r would
                os.utime(path, ns=(st_before.st_atime_ns, st_before.st_mtime_ns))
    decision = node.decide(trusted=trusted)
    assert decision.run == (first != second), (first, second, decision.reason)


def test_a_rewrite_keeping_size_and_mtime_is_caught(node: Node) -> None:
    node.succeed()
    before = os.stat(node.base / "src/a.c")
    write(node.base / "src/a.c", "int A;")  # same size
    os.utime(node.base / "src/a.c", ns=(before.st_atime_ns, before.st_mtime_ns))
    assert node.decide().reason == "input changed: src/a.c"


def test_an_output_replaced_by_a_directory_is_missing(node: Node) -> None:
    node.succeed()
    os.remove(node.base / "out/app")
    os.mkdir(node.base / "out/app")
    assert node.decide().reason == "output missing: out/app"


@pytest.mark.parametrize(
    "inputs",
    [
        ["src/*.c"],
        ["src/*.c", "src/a.*", "./src/b.c"],  # overlapping patterns, a plain name
        ["src/**/*.c", "*.md", "missing.txt", "nodir/*.c"],  # any depth; patterns without a match
        ["{abs}/src/*.c", "{abs}/README.md"],  # absolute patterns
    ],
    ids=["one-dir", "overlapping", "any-depth", "absolute"],
)
def test_the_stat_only_check_reads_no_manifest(tmp_path: Path, inputs: list[str]) -> None:
    """An up-to-date node with trusted files is decided from the records' heads alone,
    whatever kind of pattern found its files."""
    write(tmp_path / "src/a.c", "int a;")
    write(tmp_path / "src/b.c", "int b;")
    write(tmp_path / "src/sub/c.c", "int c;")
    write(tmp_path / "README.md", "read me")
    write(tmp_path / "out/app", "binary")
    inputs = [p.replace("{abs}", str(tmp_path)) for p in inputs]
    node = Node(tmp_path, True, inputs=inputs, outputs=["out/*"])
    node.succeed()
    record = node.records["build"]
    assert record.identities is not None
    with Store(tmp_path / "wf.db") as store:
        store.put_cache_record(record)
        cache = RunCache(store, "wf")
        cache.hasher._clock_ns = lambda: 2**62
        read: list[str] = []
        full = store.cache_record
        store.cache_record = lambda w, n: read.append(n) or full(w, n)  # type: ignore[method-assign]
        decision = node.decide_with(cache)
        assert (decision.run, decision.reason, read) == (False, "up to date", [])
        assert decision.key == record.cache_key
        assert decision.refresh is None
        write(tmp_path / "out/extra", "x")  # the output glob gains a file: full check
        assert node.decide_with(cache).reason == "output changed: out/extra"
        assert read == ["build"]


def test_a_record_without_an_identity_digest_gets_one(node: Node) -> None:
    """Records written before the digest existed (or with recent files) are checked fully
    once, then refreshed with the digest so that later checks are stat-only."""
    node.succeed()
    node.records["build"].identities = None
    decision = node.decide(trusted=True)
    assert (decision.run, decision.reason) == (False, "up to date")
    assert decision.refresh is not None
    assert decision.refresh.identities is not None
    assert decision.refresh.cache_key == node.records["build"].cache_key


def test_whole_records_are_read_one_by_one_then_all_at_once(tmp_path: Path) -> None:
    with Store(tmp_path / "wf.db") as store:
        for i in range(40):
            store.put_cache_record(CacheRecord("wf", f"n{i:02d}", "v1:k", "c"))
        cache = RunCache(store, "wf")
        mine = CacheRecord("wf", "n39", "v1:mine", "c")
        cache.put(mine)  # written by this run: newer than the stored one
        calls: list[str] = []
        one, every = store.cache_record, store.cache_records
        store.cache_record = lambda w, n: calls.append(n) or one(w, n)  # type: ignore[method-assign]
        store.cache_records = lambda w: calls.append("*") or every(w)  # type: ignore[method-assign]
        got = [cache.record(f"n{i:02d}") for i in range(40)]
        assert calls == [f"n{i:02d}" for i in range(16)] + ["*"]
        assert [r.node_id for r in got if r is not None] == [f"n{i:02d}" for i in range(40)]
        assert got[39] is mine
        assert cache.record("missing") is None
        assert calls[-1] == "*"
