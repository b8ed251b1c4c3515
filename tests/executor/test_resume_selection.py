"""Resume selections: task names in --from/--only/--rerun, including matrix node IDs."""

from __future__ import annotations

import pytest

from wf.dag import build_dag, parse_workflow_text
from wf.executor.resume import SelectionError, expand_names, split_names

FLOW = """
[tasks.prep]
cmd = "true"
[tasks.t]
cmd = "true"
matrix = { a = ["1", "2"], b = ["x", "y"] }
depends_on = ["prep"]
"""


def test_commas_inside_brackets_do_not_split_a_matrix_node_id():
    assert split_names("t[a=2,b=x],prep") == ["t[a=2,b=x]", "prep"]
    assert split_names("prep") == ["prep"]


def test_names_expand_to_nodes_and_base_names_to_every_expansion():
    dag = build_dag(parse_workflow_text(FLOW, name="flow"))
    assert expand_names(dag, ["t[a=2,b=x]"], "only") == ["t[a=2,b=x]"]
    assert len(expand_names(dag, ["t"], "only")) == 4
    assert expand_names(dag, ["prep,t[a=1,b=y]"], "only") == ["prep", "t[a=1,b=y]"]


def test_unknown_name_is_a_selection_error_naming_the_flag():
    dag = build_dag(parse_workflow_text(FLOW, name="flow"))
    with pytest.raises(SelectionError, match="unknown task nope in --from"):
        expand_names(dag, ["nope"], "from")
