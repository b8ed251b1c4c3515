"""Loading workflows by name or by path (docs/workflow-files.md#loading-a-workflow)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wf.dag import WorkflowError, WorkflowNotFoundError, load_dag, parse_workflow

VALID = '[tasks.a]\ncmd = "true"\n'


@pytest.fixture
def workflows(tmp_path: Path, workdir: Path) -> Path:
    """A workflows directory; the current directory (``workdir``) is elsewhere."""
    assert Path.cwd() == workdir
    directory = tmp_path / "workflows"
    directory.mkdir()
    return directory


def test_name_loads_from_the_workflows_directory(workflows: Path) -> None:
    (workflows / "deploy.toml").write_text(VALID)
    definition = parse_workflow("deploy", workflows_dir=workflows)
    assert definition.name == "deploy"
    assert definition.file_path == str(workflows / "deploy.toml")
    assert os.path.isabs(definition.file_path)


def test_trailing_toml_is_stripped_from_a_name(workflows: Path) -> None:
    (workflows / "deploy.toml").write_text(VALID)
    assert parse_workflow("deploy.toml", workflows_dir=workflows).name == "deploy"


def test_existing_path_with_separator_is_loaded_as_a_path(workflows: Path, workdir: Path) -> None:
    (workdir / "sub").mkdir()
    (workdir / "sub" / "job.toml").write_text(VALID)
    definition = parse_workflow("sub/job.toml", workflows_dir=workflows)
    assert definition.name == "job"
    assert definition.file_path == str(workdir / "sub" / "job.toml")


def test_path_rule_skips_the_name_validator(workflows: Path, workdir: Path) -> None:
    (workdir / "v1.2").mkdir()
    (workdir / "v1.2" / "job.toml").write_text(VALID)
    assert parse_workflow("./v1.2/job.toml", workflows_dir=workflows).name == "job"


def test_existing_toml_file_in_the_current_directory_wins(workflows: Path, workdir: Path) -> None:
    (workflows / "job.toml").write_text('[tasks.from_dir]\ncmd = "true"\n')
    (workdir / "job.toml").write_text('[tasks.from_cwd]\ncmd = "true"\n')
    assert list(parse_workflow("job.toml", workflows_dir=workflows).tasks) == ["from_cwd"]
    assert list(parse_workflow("job", workflows_dir=workflows).tasks) == ["from_dir"]


def test_missing_toml_argument_falls_back_to_the_name(workflows: Path) -> None:
    (workflows / "job.toml").write_text(VALID)
    assert parse_workflow("job.toml", workflows_dir=workflows).name == "job"


def test_pathlib_path_is_always_a_path(workflows: Path, workdir: Path) -> None:
    (workdir / "plain").write_text(VALID)
    assert parse_workflow(Path("plain"), workflows_dir=workflows).name == "plain"


def test_missing_pathlib_path_is_not_found(workflows: Path) -> None:
    with pytest.raises(WorkflowNotFoundError) as caught:
        parse_workflow(Path("nowhere.toml"), workflows_dir=workflows)
    assert caught.value.errors == ["workflow not found: nowhere.toml (looked for nowhere.toml)"]


def test_path_with_nul_byte_is_unreadable(workflows: Path) -> None:
    with pytest.raises(WorkflowError) as caught:
        parse_workflow(Path("a\x00b.toml"), workflows_dir=workflows)
    [error] = caught.value.errors
    assert error.startswith("cannot read workflow file ")


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "../secrets",
        "../../../root/.ssh/id_rsa",
        "foo/../../etc/shadow",
        "a\x00b",
        "..",
        ".",
        "",
        "-x",
        "a/b/c/../../../../etc/cron.d/evil",
    ],
)
def test_rejected_names_never_reach_the_file_system(
    workflows: Path, workdir: Path, name: str
) -> None:
    (workdir / "a" / "b" / "c").mkdir(parents=True)
    with pytest.raises(WorkflowError) as caught:
        parse_workflow(name, workflows_dir=workflows)
    [error] = caught.value.errors
    assert error.startswith("invalid workflow name ")


@pytest.mark.parametrize(
    "name", ["my-workflow", "etl_pipeline", "deploy", "nightly-backup", "workflow123"]
)
def test_accepted_names(workflows: Path, name: str) -> None:
    (workflows / f"{name}.toml").write_text(VALID)
    assert parse_workflow(name, workflows_dir=workflows).name == name


def test_symlink_leaving_the_workflows_directory_is_rejected(
    workflows: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.toml"
    outside.write_text(VALID)
    (workflows / "evil.toml").symlink_to(outside)
    with pytest.raises(WorkflowError) as caught:
        parse_workflow("evil", workflows_dir=workflows)
    [error] = caught.value.errors
    assert "resolves outside the workflows directory" in error


def test_invalid_file_stem_needs_a_name_key(workflows: Path, workdir: Path) -> None:
    path = workdir / "my flow.toml"
    path.write_text(VALID)
    with pytest.raises(WorkflowError) as caught:
        parse_workflow(str(path), workflows_dir=workflows)
    [error] = caught.value.errors
    assert 'invalid workflow name "my flow" from the file name' in error
    assert 'add a top-level key such as name = "my-flow"' in error
    path.write_text('name = "my-flow"\n' + VALID)
    definition = parse_workflow(str(path), workflows_dir=workflows)
    assert definition.name == "my-flow"
    assert definition.warnings == ['workflow name "my-flow" differs from the file name "my flow"']


def test_utf8_byte_order_mark_is_accepted(workflows: Path) -> None:
    (workflows / "bom.toml").write_bytes(b"\xef\xbb\xbf" + VALID.encode())
    assert list(parse_workflow("bom", workflows_dir=workflows).tasks) == ["a"]


def test_syntax_error_in_a_file_keeps_a_partial_definition(workflows: Path) -> None:
    (workflows / "broken.toml").write_text("[tasks.a\n")
    with pytest.raises(WorkflowError) as caught:
        parse_workflow("broken", workflows_dir=workflows)
    [error] = caught.value.errors
    assert error.startswith("TOML syntax error at line 1, column ")
    assert caught.value.definition is not None
    assert caught.value.definition.name == "broken"
    assert caught.value.definition.file_path == str(workflows / "broken.toml")


def test_default_workflows_directory_comes_from_the_configuration(wf_home: Path) -> None:
    (wf_home / "workflows").mkdir(parents=True)
    (wf_home / "workflows" / "hello.toml").write_text(VALID)
    assert parse_workflow("hello").file_path == str(wf_home / "workflows" / "hello.toml")


def test_load_dag_parses_and_builds(workflows: Path) -> None:
    (workflows / "pipe.toml").write_text(VALID + '[tasks.b]\ncmd = "x"\ndepends_on = ["a"]\n')
    dag = load_dag("pipe", workflows_dir=workflows)
    assert dag.levels == [["a"], ["b"]]
    assert dag.name == "pipe"
    assert dag.file_path == str(workflows / "pipe.toml")
    assert dag.validated


def test_load_dag_reports_cycles(workflows: Path) -> None:
    (workflows / "loop.toml").write_text('[tasks.a]\ncmd = "x"\ndepends_on = ["a"]\n')
    with pytest.raises(WorkflowError) as caught:
        load_dag("loop", workflows_dir=workflows)
    assert caught.value.errors == ["circular dependency detected: a -> a"]
