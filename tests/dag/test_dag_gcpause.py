"""The garbage-collector pause used while building restores the collector's previous state."""

from __future__ import annotations

import gc

import pytest

from wf.dag import WorkflowError, parse_workflow_text
from wf.dag.gcpause import gc_paused


def test_collector_is_paused_inside_and_enabled_after() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_collector_is_enabled_again_after_an_error() -> None:
    with pytest.raises(WorkflowError):
        parse_workflow_text("[tasks.a]\n", name="flow")
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
