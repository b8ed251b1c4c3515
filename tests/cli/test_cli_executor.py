"""``--executor`` / ``--scheduler`` on run and resume, without a cluster (docs/dask.md)."""

from __future__ import annotations

import importlib.util


def test_dask_without_its_extra_says_how_to_install_it(wf, workdir, monkeypatch):
    (workdir / "flow.toml").write_text('[tasks.a]\ncmd = "true"\n')
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "distributed" else real(name, *a),
    )
    code, _, err = wf("run", "flow.toml", "--executor", "dask", "--scheduler", "tcp://h:8786")
    assert code == 1
    assert err.strip() == (
        "Error: --executor dask requires the optional 'dask' extra (pip install 'wf[dask]')"
    )


def test_executor_flags_are_checked_before_anything_runs(wf, workdir, monkeypatch):
    (workdir / "flow.toml").write_text('[tasks.a]\ncmd = "true"\n')
    code, _, err = wf("run", "flow.toml", "--executor", "dask")
    assert code == 2
    assert "Error: --executor dask needs a scheduler address" in err
    code, _, err = wf("run", "flow.toml", "--scheduler", "tcp://127.0.0.1:1")
    assert code == 2
    assert "Error: --scheduler needs --executor dask" in err
    code, _, err = wf("run", "flow.toml", "--executor", "dask", "--sequential", "--scheduler", "x")
    assert code == 2
    assert "--sequential conflicts" in err
    monkeypatch.setenv("WF_EXECUTOR", "dask")
    code, _, err = wf("resume", "nope")
    assert code == 2
    assert "needs a scheduler address" in err
    monkeypatch.setenv("WF_EXECUTOR", "kubernetes")
    code, _, err = wf("run", "flow.toml")
    assert code == 2
    assert "invalid executor from WF_EXECUTOR" in err
    code, _, _ = wf("runs")
    assert code == 2  # the config error, whatever the command
