"""Resource pools in workflow files: the [pools] table, task weights, and their checks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from wf.config import ConfigError, load_config
from wf.dag import DAG, parse_workflow_text

HEAD = "[pools]\ngpu = 1\ndb = 2\n"


def test_pools_and_weights_reach_the_dag(dag_of: Callable[..., DAG]) -> None:
    dag = dag_of(
        HEAD
        + """
[tasks.a]
cmd = "true"
pool = "gpu"
[tasks.b]
cmd = "true"
pools = { gpu = 1, db = 2 }
[tasks.c]
cmd = "true"
"""
    )
    assert dag.pools == {"gpu": 1, "db": 2}
    assert dag.nodes["a"].task.pools == {"gpu": 1}
    assert dag.nodes["b"].task.pools == {"gpu": 1, "db": 2}
    assert dag.nodes["c"].task.pools == {}
    assert dag.to_dict()["pools"] == {"gpu": 1, "db": 2}
    assert "pools" not in dag.nodes["c"].task.to_dict()  # unchanged fingerprints without pools


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[tasks.a]\ncmd = "true"\npool = "gpus"', 'task "a": unknown pool "gpus" (did you mean'),
        ('[tasks.a]\ncmd = "true"\npools = { db = 3 }', 'weight 3 for pool "db" is above its'),
        ('[tasks.a]\ncmd = "true"\npools = { db = 0 }', "integer weight >= 1, not 0"),
        ('[tasks.a]\ncmd = "true"\npools = { db = true }', "integer weight >= 1, not True"),
        ('[tasks.a]\ncmd = "true"\npools = ["db"]', 'key "pools" must be a table'),
        ('[tasks.a]\ncmd = "true"\npool = 1', 'key "pool": a pool name must be a string'),
        ('[tasks.a]\ncmd = "true"\npool = "a b"', 'invalid pool name "a b"'),
        ('[tasks.a]\ncmd = "true"\npool = "gpu"\npools = { db = 1 }', 'either "pool" or "pools"'),
        (
            '[tasks.a]\ncmd = "true"\n[tasks.f]\ntype = "forensic"\ncmd = "true"\npool = "gpu"',
            "forensic tasks cannot have pool",
        ),
    ],
)
def test_pool_errors(errors_of: Callable[..., list[str]], text: str, message: str) -> None:
    errors = errors_of(HEAD + text)
    assert any(message in error for error in errors), errors


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("gpu = 0", 'pool "gpu" must have an integer capacity >= 1, not 0'),
        ('gpu = "1"', "not '1'"),
        ('"a.b" = 1', 'invalid pool name "a.b"'),
    ],
)
def test_capacity_errors(errors_of: Callable[..., list[str]], table: str, message: str) -> None:
    errors = errors_of(f'[pools]\n{table}\n[tasks.a]\ncmd = "true"\n')
    assert any(message in error for error in errors), errors


def test_config_pools_are_defaults_a_workflow_overrides() -> None:
    text = '[pools]\ngpu = 1\n[tasks.a]\ncmd = "true"\npools = { gpu = 1, db = 4 }\n'
    definition = parse_workflow_text(text, name="flow", pools={"gpu": 8, "db": 4, "net": 1})
    assert definition.pools == {"gpu": 1, "db": 4}  # only the pools in use


def test_the_config_is_not_read_when_the_workflow_declares_its_pools(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import wf.config

    def refuse(**_: object) -> None:
        raise AssertionError("config read")

    monkeypatch.setattr(wf.config, "load_config", refuse)
    text = HEAD + '[tasks.a]\ncmd = "true"\npool = "gpu"\n'
    assert parse_workflow_text(text, name="flow").pools == {"gpu": 1, "db": 2}


def test_config_pools_come_from_the_configured_home(wf_home: Path) -> None:
    wf_home.mkdir(parents=True, exist_ok=True)
    (wf_home / "config.toml").write_text("[pools]\ngpu = 2\n", encoding="utf-8")
    assert load_config().pools == {"gpu": 2}
    text = '[tasks.a]\ncmd = "true"\npools = { gpu = 2 }\n'
    assert parse_workflow_text(text, name="flow").pools == {"gpu": 2}  # pools=None: configured
    (wf_home / "config.toml").write_text("[pools]\ngpu = -1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="integer capacity >= 1"):
        load_config()
