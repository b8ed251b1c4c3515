"""Critical-path-first priorities: longest weighted remaining path, history-weighted."""

from __future__ import annotations

from wf.dag import build_dag, parse_workflow_text
from wf.executor.policy import WorkStealingPolicy
from wf.executor.priority import critical_path_priorities

SKEWED = """
[tasks.a1]
cmd = "true"
[tasks.a2]
cmd = "true"
[tasks.z0]
cmd = "true"
[tasks.z1]
cmd = "true"
depends_on = ["z0"]
[tasks.z2]
cmd = "true"
depends_on = ["z1"]
"""


def _dag():
    return build_dag(parse_workflow_text(SKEWED, name="skewed"))


def test_without_history_priority_is_the_number_of_nodes_to_the_leaf():
    dag = _dag()
    prio = critical_path_priorities(dag, dag.sequential_order(), {})
    assert prio == {"a1": 1.0, "a2": 1.0, "z0": 3.0, "z1": 2.0, "z2": 1.0}


def test_history_weights_the_path_and_unknown_nodes_weigh_the_median():
    dag = _dag()
    durations = {"a1": 5.0, "z0": 1.0, "z1": 1.0}  # z2 and a2 unknown: median of 5, 1, 1 = 1
    prio = critical_path_priorities(dag, dag.sequential_order(), durations)
    assert prio["a1"] == 5.0
    assert prio["a2"] == 1.0
    assert prio["z0"] == 3.0
    assert prio["z2"] == 1.0


def test_the_policy_starts_the_long_chain_before_short_tasks_that_sort_first():
    dag = _dag()
    nodes = dag.sequential_order()
    deps = {n: dag.nodes[n].dependencies for n in nodes}
    fifo = WorkStealingPolicy(nodes, deps)
    assert fifo.next_ready(1) == ["a1"]
    prio = critical_path_priorities(dag, nodes, {})
    cp = WorkStealingPolicy(nodes, deps, priority=prio)
    assert cp.next_ready(1) == ["z0"]
    assert cp.next_ready(2) == ["a1", "a2"]  # ties by ID


def test_only_selected_nodes_count_on_a_resume_subset():
    dag = _dag()
    prio = critical_path_priorities(dag, ["z1", "z2"], {})
    assert prio == {"z1": 2.0, "z2": 1.0}
