"""Security rules: every accept/reject example, in wf.security and through the command line."""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest

from wf.errors import SecurityError, WfError
from wf.security import (
    resolve_workflow_path,
    validate_env_key,
    validate_variable_name,
    validate_workflow_name,
    validate_working_dir,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="the /proc, /sys, /dev rule is POSIX")

# Workflow names (docs/workflow-files.md#loading-a-workflow)
REJECTED_WORKFLOW_NAMES = [
    "../../etc/passwd",
    "../secrets",
    "../../../root/.ssh/id_rsa",
    "/etc/passwd",
    "/root/.bash_history",
    "foo/../../etc/shadow",
    "nul\x00byte",
    "\x00",
    "..",
    ".",
    "",
    "-x",
    "a/b/c/../../../../etc/cron.d/evil",
]
ACCEPTED_WORKFLOW_NAMES = ["my-workflow", "etl_pipeline", "deploy", "nightly-backup", "workflow123"]

# Env keys (docs/workflow-files.md#task-level-keys)
REJECTED_ENV_KEY_FORMATS = ["", "1ABC", "A=B", "MY VAR", "MY-VAR", "A\x00B"]
DENIED_ENV_KEYS = [
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "LD_AUDIT",
    "LD_DEBUG",
    "LD_DEBUG_OUTPUT",
    "LD_ANYTHING",
    "DYLD_INSERT_LIBRARIES",
    "DYLD_LIBRARY_PATH",
    "DYLD_FRAMEWORK_PATH",
    "BASH_ENV",
    "WF_RUN_ID",
    "WF_WORKFLOW",
    "WF_TASK_ID",
    "WF_ATTEMPT",
    "WF_OUTPUT",
    # compared case-insensitively
    "ld_preload",
    "Dyld_Insert_Libraries",
    "bash_env",
    "wf_output",
]
ACCEPTED_ENV_KEYS = ["HOME", "PATH", "MY_APP_CONFIG", "database_url", "APP_SECRET_KEY", "CI"]

# Working directories (docs/workflow-files.md#task-level-keys)
REJECTED_WORKING_DIRS = [
    "/proc",
    "/proc/self",
    "/proc/self/mem",
    "/sys",
    "/sys/kernel",
    "/dev",
    "/dev/null",
    # lexical normalisation comes first
    "/proc/",
    "/tmp/../proc/self",
    "/./sys",
    "//proc/self",
    "///dev/null",
]
NUL_WORKING_DIR = "/tmp/\x00x"
ACCEPTED_WORKING_DIRS = [
    "",
    "/tmp/myapp",
    "/home/user/projects",
    "/opt/workflow",
    "./relative",
    "../sibling",
    "/procfs",
    "/dev/../tmp",
]

# Variable names (docs/variables.md#names-and-ownership)
ACCEPTED_VARIABLE_NAMES = ["my_var", "result", "deploy[env=prod].output", "task-a.result", "v1"]
REJECTED_VARIABLE_NAMES = ["", "a\x00b", "a b", "a;b", "$(cmd)", "`cmd`", "x" * 257]


def _names(value: str) -> str:
    return repr(value)


# --------------------------------------------------------------------------- library level


class TestWorkflowNames:
    @pytest.mark.parametrize("name", REJECTED_WORKFLOW_NAMES, ids=_names)
    def test_rejected_names_raise_security_error(self, name: str) -> None:
        with pytest.raises(SecurityError, match="invalid workflow name"):
            validate_workflow_name(name)

    @pytest.mark.parametrize("name", REJECTED_WORKFLOW_NAMES, ids=_names)
    def test_resolving_a_rejected_name_raises_before_touching_files(
        self, name: str, tmp_path: Path
    ) -> None:
        (tmp_path / "a" / "b" / "c").mkdir(parents=True)
        with pytest.raises(SecurityError):
            resolve_workflow_path(name, tmp_path / "workflows-that-do-not-exist")

    @pytest.mark.parametrize("name", ACCEPTED_WORKFLOW_NAMES)
    def test_accepted_names_resolve_inside_the_workflows_dir(
        self, name: str, tmp_path: Path
    ) -> None:
        assert validate_workflow_name(name) == name
        assert resolve_workflow_path(name, tmp_path) == tmp_path / f"{name}.toml"

    def test_security_error_is_a_value_error_and_a_wf_error(self) -> None:
        with pytest.raises(ValueError) as info:
            validate_workflow_name("../x")
        assert isinstance(info.value, WfError)

    def test_error_message_names_the_input_and_the_rule(self) -> None:
        with pytest.raises(SecurityError) as info:
            validate_workflow_name("../secrets")
        assert "../secrets" in str(info.value)
        assert "A-Za-z0-9_" in str(info.value)

    def test_name_of_128_characters_is_the_longest_accepted(self) -> None:
        validate_workflow_name("a" * 128)
        with pytest.raises(SecurityError):
            validate_workflow_name("a" * 129)

    def test_trailing_toml_is_stripped_before_resolving(self, tmp_path: Path) -> None:
        assert resolve_workflow_path("deploy.toml", tmp_path) == tmp_path / "deploy.toml"

    def test_symlink_that_leaves_the_workflows_dir_is_rejected(self, tmp_path: Path) -> None:
        workflows = tmp_path / "workflows"
        workflows.mkdir()
        outside = tmp_path / "outside.toml"
        outside.write_text('[tasks.a]\ncmd = "true"\n')
        (workflows / "escape.toml").symlink_to(outside)
        with pytest.raises(SecurityError, match="outside the workflows directory"):
            resolve_workflow_path("escape", workflows)

    def test_symlink_inside_the_workflows_dir_is_accepted(self, tmp_path: Path) -> None:
        workflows = tmp_path / "workflows"
        workflows.mkdir()
        (workflows / "real.toml").write_text('[tasks.a]\ncmd = "true"\n')
        (workflows / "alias.toml").symlink_to(workflows / "real.toml")
        assert resolve_workflow_path("alias", workflows) == workflows / "alias.toml"


class TestEnvKeys:
    @pytest.mark.parametrize("key", REJECTED_ENV_KEY_FORMATS, ids=_names)
    def test_malformed_keys_are_rejected(self, key: str) -> None:
        with pytest.raises(SecurityError, match="invalid env key"):
            validate_env_key(key)

    @pytest.mark.parametrize("key", DENIED_ENV_KEYS)
    def test_dangerous_and_injected_keys_are_rejected(self, key: str) -> None:
        with pytest.raises(SecurityError) as info:
            validate_env_key(key)
        assert key in str(info.value)

    @pytest.mark.parametrize("key", ACCEPTED_ENV_KEYS)
    def test_ordinary_keys_are_accepted(self, key: str) -> None:
        assert validate_env_key(key) == key


class TestWorkingDirs:
    @posix_only
    @pytest.mark.parametrize("path", REJECTED_WORKING_DIRS)
    def test_system_trees_are_rejected_lexically(self, path: str) -> None:
        with pytest.raises(SecurityError, match="working directory not allowed") as info:
            validate_working_dir(path)
        assert path in str(info.value)

    def test_nul_byte_is_rejected(self) -> None:
        with pytest.raises(SecurityError, match="NUL"):
            validate_working_dir(NUL_WORKING_DIR)

    @pytest.mark.parametrize("path", ACCEPTED_WORKING_DIRS)
    def test_ordinary_paths_are_accepted_without_existing(self, path: str) -> None:
        assert validate_working_dir(path) == path

    @posix_only
    def test_symlink_into_proc_is_caught_by_the_real_path_check(self, tmp_path: Path) -> None:
        link = tmp_path / "innocent"
        link.symlink_to("/proc/self")
        assert validate_working_dir(str(link)) == str(link)
        with pytest.raises(SecurityError, match="not allowed"):
            validate_working_dir(str(link), check_real=True)


class TestVariableNames:
    @pytest.mark.parametrize("name", ACCEPTED_VARIABLE_NAMES)
    def test_accepted(self, name: str) -> None:
        assert validate_variable_name(name) == name

    @pytest.mark.parametrize("name", REJECTED_VARIABLE_NAMES, ids=lambda v: repr(v)[:20])
    def test_rejected(self, name: str) -> None:
        with pytest.raises(SecurityError, match="invalid variable name"):
            validate_variable_name(name)

    def test_name_of_256_characters_is_the_longest_accepted(self) -> None:
        validate_variable_name("x" * 256)


# --------------------------------------------------------------------------- CLI level

Wf = Callable[..., tuple[int, str, str]]


@pytest.fixture
def write_workflow(wf_home: Path) -> Callable[[str, str], Path]:
    def write(name: str, text: str) -> Path:
        directory = wf_home / "workflows"
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


def _toml_string(value: str) -> str:
    """VALUE as a TOML basic string (json escapes are valid TOML escapes)."""
    return json.dumps(value)


def assert_clean_usage_error(code: int, err: str) -> None:
    assert code == 2, err
    assert "Error:" in err
    assert "Traceback" not in err


class TestCliWorkflowNames:
    @pytest.mark.parametrize(
        "name", [n for n in REJECTED_WORKFLOW_NAMES if n and not n.startswith("-")], ids=_names
    )
    def test_run_with_a_rejected_name_is_a_usage_error(self, wf: Wf, name: str) -> None:
        code, out, err = wf("run", name)
        assert_clean_usage_error(code, err)
        assert "root:" not in out + err  # nothing of a system file is echoed

    @pytest.mark.parametrize("name", ["", "-x"], ids=_names)
    def test_run_with_an_empty_or_dash_name_after_double_dash_is_a_usage_error(
        self, wf: Wf, name: str
    ) -> None:
        code, _, err = wf("run", "--", name)
        assert_clean_usage_error(code, err)

    def test_traversal_is_rejected_even_when_the_intermediate_dirs_exist(
        self, wf: Wf, workdir: Path
    ) -> None:
        (workdir / "a" / "b" / "c").mkdir(parents=True)
        code, _, err = wf("run", "a/b/c/../../../../etc/cron.d/evil")
        assert_clean_usage_error(code, err)
        assert "invalid workflow name" in err

    def test_parent_traversal_names_the_rule(self, wf: Wf) -> None:
        code, _, err = wf("run", "../secrets")
        assert_clean_usage_error(code, err)
        assert "invalid workflow name" in err

    @pytest.mark.parametrize("command", ["validate", "graph"])
    def test_other_commands_taking_a_workflow_reject_traversal(self, wf: Wf, command: str) -> None:
        code, _, err = wf(command, "../../etc/passwd")
        assert code == 2
        assert "Traceback" not in err

    def test_symlink_leaving_the_workflows_dir_is_rejected(
        self, wf: Wf, wf_home: Path, tmp_path: Path
    ) -> None:
        (wf_home / "workflows").mkdir(parents=True)
        outside = tmp_path / "outside.toml"
        outside.write_text('[tasks.a]\ncmd = "true"\n')
        (wf_home / "workflows" / "escape.toml").symlink_to(outside)
        code, _, err = wf("run", "escape", "--dry-run")
        assert_clean_usage_error(code, err)
        assert "outside the workflows directory" in err

    @pytest.mark.parametrize("name", ACCEPTED_WORKFLOW_NAMES)
    def test_accepted_names_run(
        self, wf: Wf, write_workflow: Callable[[str, str], Path], name: str
    ) -> None:
        write_workflow(name, '[tasks.a]\ncmd = "true"\n')
        code, out, err = wf("run", name, "--dry-run")
        assert code == 0, err
        assert f"Workflow: {name}" in out


class TestCliEnvKeys:
    @pytest.mark.parametrize("key", REJECTED_ENV_KEY_FORMATS + DENIED_ENV_KEYS, ids=_names)
    def test_validate_rejects_the_workflow_and_names_the_key(
        self, wf: Wf, write_workflow: Callable[[str, str], Path], key: str
    ) -> None:
        write_workflow("envy", f'[tasks.a]\ncmd = "true"\nenv = {{ {_toml_string(key)} = "x" }}\n')
        code, out, err = wf("validate", "envy")
        assert code == 2
        assert "✗ FAIL envy" in out
        assert repr(key) in out
        assert "Traceback" not in out + err

    def test_run_refuses_a_workflow_with_ld_preload(
        self, wf: Wf, write_workflow: Callable[[str, str], Path]
    ) -> None:
        write_workflow("envy", '[tasks.a]\ncmd = "true"\nenv = { LD_PRELOAD = "/tmp/x.so" }\n')
        code, _, err = wf("run", "envy")
        assert_clean_usage_error(code, err)
        assert "Error: workflow 'envy' is invalid (1 error)" in err
        assert "LD_PRELOAD" in err

    @pytest.mark.parametrize("key", ACCEPTED_ENV_KEYS)
    def test_validate_accepts_ordinary_keys(
        self, wf: Wf, write_workflow: Callable[[str, str], Path], key: str
    ) -> None:
        write_workflow("envy", f'[tasks.a]\ncmd = "true"\nenv = {{ {key} = "x" }}\n')
        code, out, _ = wf("validate", "envy")
        assert code == 0
        assert "✓ PASS envy" in out


class TestCliWorkingDirs:
    @posix_only
    @pytest.mark.parametrize("path", [*REJECTED_WORKING_DIRS, NUL_WORKING_DIR], ids=_names)
    def test_validate_rejects_the_workflow(
        self, wf: Wf, write_workflow: Callable[[str, str], Path], path: str
    ) -> None:
        write_workflow("wd", f'[tasks.a]\ncmd = "true"\nworking_dir = {_toml_string(path)}\n')
        code, out, err = wf("validate", "wd")
        assert code == 2
        assert "working directory" in out
        assert "Traceback" not in out + err

    @pytest.mark.parametrize("path", ACCEPTED_WORKING_DIRS)
    def test_validate_accepts_paths_that_need_not_exist_yet(
        self, wf: Wf, write_workflow: Callable[[str, str], Path], path: str
    ) -> None:
        write_workflow("wd", f'[tasks.a]\ncmd = "true"\nworking_dir = {_toml_string(path)}\n')
        code, out, _ = wf("validate", "wd")
        assert code == 0, out
        assert "✓ PASS wd" in out

    @posix_only
    def test_symlink_into_proc_fails_the_task_at_run_time(
        self, wf: Wf, write_workflow: Callable[[str, str], Path], workdir: Path
    ) -> None:
        (workdir / "innocent").symlink_to("/proc/self")
        write_workflow("wd", '[tasks.a]\ncmd = "true"\nworking_dir = "./innocent"\n')
        code, out, err = wf("run", "wd")
        assert code == 1
        assert "working directory not allowed" in out + err


class TestCliVariableNames:
    @pytest.mark.parametrize("name", REJECTED_VARIABLE_NAMES, ids=lambda v: repr(v)[:20])
    def test_var_with_a_rejected_name_is_a_usage_error(
        self, wf: Wf, write_workflow: Callable[[str, str], Path], name: str
    ) -> None:
        write_workflow("v", '[tasks.a]\ncmd = "true"\n')
        code, _, err = wf("run", "v", "--dry-run", "--var", f"{name}=1")
        assert_clean_usage_error(code, err)
        assert "invalid --var name" in err
        assert "Run 'wf run --help' for usage." in err

    @pytest.mark.parametrize("name", ["failed_task", "failed_dag", "error_message"])
    def test_var_with_a_reserved_name_is_a_usage_error(
        self, wf: Wf, write_workflow: Callable[[str, str], Path], name: str
    ) -> None:
        write_workflow("v", '[tasks.a]\ncmd = "true"\n')
        code, _, err = wf("run", "v", "--var", f"{name}=x")
        assert_clean_usage_error(code, err)
        assert "reserved" in err

    def test_var_without_equals_sign_is_a_usage_error(
        self, wf: Wf, write_workflow: Callable[[str, str], Path]
    ) -> None:
        write_workflow("v", '[tasks.a]\ncmd = "true"\n')
        code, _, err = wf("run", "v", "--var", "novalue")
        assert_clean_usage_error(code, err)
        assert "invalid --var format: expected KEY=VALUE" in err

    @pytest.mark.parametrize("name", ACCEPTED_VARIABLE_NAMES)
    def test_var_with_an_accepted_name_is_taken(
        self, wf: Wf, write_workflow: Callable[[str, str], Path], name: str
    ) -> None:
        write_workflow("v", '[tasks.a]\ncmd = "true"\n')
        code, _, err = wf("run", "v", "--dry-run", "--var", f"{name}=1")
        assert code == 0, err

    @pytest.mark.parametrize("name", ['"a b"', '"x;y"', '"$(cmd)"'])
    def test_register_with_a_rejected_literal_name_makes_the_workflow_invalid(
        self, wf: Wf, write_workflow: Callable[[str, str], Path], name: str
    ) -> None:
        write_workflow("v", f'[tasks.a]\ncmd = "true"\nregister = {name}\n')
        code, out, _ = wf("validate", "v")
        assert code == 2
        assert "✗ FAIL v" in out


class TestCliTemplateInjection:
    """Only {{.name}} is substituted; nothing else is ever evaluated.

    See docs/variables.md#interpolation-name.
    """

    DIRECTIVES: ClassVar[list[str]] = [
        "{{range .}}leak{{end}}",
        "{{if .safe_var}}injected{{end}}",
        '{{define "x"}}evil{{end}}',
        '{{template "x"}}',
        "{{with .safe_var}}exec{{end}}",
        '{{.safe_var | printf "%s"}}',
    ]

    def _log_lines(self, wf: Wf, task: str = "a") -> list[str]:
        code, out, _ = wf("runs", "--json", "-l", "1")
        run_id = json.loads(out)["runs"][0]["id"]
        code, out, _ = wf("logs", run_id, task)
        assert code == 0
        return [line.removeprefix("[Attempt 1] ") for line in out.splitlines()]

    def test_directives_in_a_command_reach_the_shell_verbatim(
        self, wf: Wf, write_workflow: Callable[[str, str], Path]
    ) -> None:
        script = "\n".join(f"printf '%s\\n' {_sh_quote(d)}" for d in self.DIRECTIVES)
        write_workflow("tpl", f"[tasks.a]\ncmd = '''\n{script}\n'''\n")
        code, _, err = wf("run", "tpl", "--var", "safe_var=SECRET")
        assert code == 0, err
        lines = self._log_lines(wf)
        for directive in self.DIRECTIVES:
            assert directive in lines
        assert not any(line in {"leak", "injected", "exec", "evil", "SECRET"} for line in lines)

    def test_a_var_value_that_looks_like_a_template_stays_literal(
        self, wf: Wf, write_workflow: Callable[[str, str], Path]
    ) -> None:
        write_workflow("tpl", "[tasks.a]\ncmd = \"printf '[%s]\\\\n' '{{.y}}'\"\n")
        code, _, err = wf("run", "tpl", "--var", "x=SECRET", "--var", "y={{.x}}")
        assert code == 0, err
        lines = self._log_lines(wf)
        assert "[{{.x}}]" in lines
        assert not any("SECRET" in line for line in lines)

    def test_the_documented_substitution_works(
        self, wf: Wf, write_workflow: Callable[[str, str], Path]
    ) -> None:
        write_workflow(
            "tpl", '[tasks.a]\ncmd = "echo deploy --version={{.version}} --env={{.env}}"\n'
        )
        code, _, err = wf("run", "tpl", "--var", "version=1.2.3", "--var", "env=production")
        assert code == 0, err
        assert "deploy --version=1.2.3 --env=production" in self._log_lines(wf)

    def test_an_undefined_name_fails_the_task_naming_the_variable(
        self, wf: Wf, write_workflow: Callable[[str, str], Path]
    ) -> None:
        write_workflow("tpl", '[tasks.a]\ncmd = "echo {{.nope}}"\n')
        code, out, err = wf("run", "tpl")
        assert code == 1
        assert 'undefined variable "nope"' in out + err


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
