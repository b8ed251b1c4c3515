"""Matrix expansion and bracket selectors.

See docs/workflow-files.md#matrix-expansion, docs/executors.md#the-three-modes.
"""

from __future__ import annotations

from collections.abc import Callable

from wf.dag import DAG, parse_workflow_text

DagOf = Callable[..., DAG]

TEST_MATRIX = """
[tasks.build]
cmd = "make"

[tasks.test]
name = "Test"
cmd = "tox -e py -- --python={{.python}} --region={{.region}}"
matrix = { region = ["eu", "us"], python = ["3.12", "3.11"] }
depends_on = ["build"]
"""


def test_expansion_ids_sort_keys_and_keep_value_order(dag_of: DagOf) -> None:
    dag = dag_of(TEST_MATRIX)
    assert dag.levels[1] == [
        "test[python=3.11,region=eu]",
        "test[python=3.11,region=us]",
        "test[python=3.12,region=eu]",
        "test[python=3.12,region=us]",
    ]
    assert "test" not in dag.nodes
    assert dag.total_tasks == 5


def test_expansions_carry_vars_definition_and_dependencies(dag_of: DagOf) -> None:
    dag = dag_of(TEST_MATRIX)
    node = dag.nodes["test[python=3.12,region=eu]"]
    assert node.is_expanded
    assert node.matrix_vars == {"python": "3.12", "region": "eu"}
    assert node.task is dag.nodes["test[python=3.11,region=us]"].task
    assert node.dependencies == ["build"]
    assert node.name == "Test[python=3.12,region=eu]"
    assert not dag.nodes["build"].is_expanded
    assert dag.nodes["build"].matrix_vars == {}


def test_expansion_order_follows_the_given_values() -> None:
    definition = parse_workflow_text(TEST_MATRIX, name="flow")
    assert definition.tasks["test"].matrix == {"region": ["eu", "us"], "python": ["3.12", "3.11"]}


def test_matrix_sub_table_form(dag_of: DagOf) -> None:
    dag = dag_of('[tasks.t]\ncmd = "x"\n[tasks.t.matrix]\nenv = ["dev", "prod"]\n')
    assert dag.levels == [["t[env=dev]", "t[env=prod]"]]


def test_non_string_values_become_text() -> None:
    text = (
        '[tasks.t]\ncmd = "x"\nmatrix = { i = [3, -1], f = [0.5, 1.0, 1e-05], b = [true, false] }\n'
    )
    matrix = parse_workflow_text(text, name="flow").tasks["t"].matrix
    assert matrix == {"i": ["3", "-1"], "f": ["0.5", "1.0", "1e-05"], "b": ["true", "false"]}


def test_plain_dependency_on_a_matrix_task_waits_for_every_expansion(dag_of: DagOf) -> None:
    dag = dag_of(TEST_MATRIX + '[tasks.report]\ncmd = "x"\ndepends_on = ["test"]\n')
    report = dag.nodes["report"]
    assert report.dependencies == [
        "test[python=3.12,region=eu]",
        "test[python=3.12,region=us]",
        "test[python=3.11,region=eu]",
        "test[python=3.11,region=us]",
    ]
    assert report.level == 2


def test_selector_with_a_subset_of_keys(dag_of: DagOf) -> None:
    dag = dag_of(TEST_MATRIX + '[tasks.eu]\ncmd = "x"\ndepends_on = ["test[region=eu]"]\n')
    assert dag.nodes["eu"].dependencies == [
        "test[python=3.12,region=eu]",
        "test[python=3.11,region=eu]",
    ]


def test_selector_with_the_exact_node_id(dag_of: DagOf) -> None:
    reference = "test[python=3.11,region=us]"
    dag = dag_of(TEST_MATRIX + f'[tasks.one]\ncmd = "x"\ndepends_on = ["{reference}"]\n')
    assert dag.nodes["one"].dependencies == [reference]
    assert dag.nodes[reference].dependents == ["one"]


def test_selector_pairs_in_any_order(dag_of: DagOf) -> None:
    reference = "test[region=us,python=3.11]"
    dag = dag_of(TEST_MATRIX + f'[tasks.one]\ncmd = "x"\ndepends_on = ["{reference}"]\n')
    assert dag.nodes["one"].dependencies == ["test[python=3.11,region=us]"]


def test_overlapping_references_do_not_duplicate_edges(dag_of: DagOf) -> None:
    text = TEST_MATRIX + '[tasks.r]\ncmd = "x"\ndepends_on = ["test[region=eu]", "test"]\n'
    dependencies = dag_of(text).nodes["r"].dependencies
    assert len(dependencies) == len(set(dependencies)) == 4


def test_matrix_task_depending_on_a_matrix_task(dag_of: DagOf) -> None:
    text = (
        '[tasks.a]\ncmd = "x"\nmatrix = { k = ["1", "2"] }\n'
        '[tasks.b]\ncmd = "x"\nmatrix = { j = ["x", "y"] }\ndepends_on = ["a[k=1]"]\n'
    )
    dag = dag_of(text)
    assert dag.nodes["b[j=x]"].dependencies == ["a[k=1]"]
    assert dag.nodes["b[j=y]"].dependencies == ["a[k=1]"]
    assert dag.nodes["a[k=1]"].dependents == ["b[j=x]", "b[j=y]"]
    assert dag.leaves == ["a[k=2]", "b[j=x]", "b[j=y]"]


def test_empty_matrix_table_means_no_matrix(dag_of: DagOf) -> None:
    dag = dag_of('[tasks.t]\ncmd = "x"\nmatrix = {}\n')
    assert list(dag.nodes) == ["t"]
    assert not dag.nodes["t"].is_expanded
