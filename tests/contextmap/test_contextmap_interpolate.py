"""`{{.NAME}}` interpolation and template-injection resistance.

See docs/variables.md#interpolation-name.
"""

from __future__ import annotations

import pytest

from wf.contextmap import ContextMap, UndefinedVariableError, referenced_names

POISON = ("leak", "injected", "exec", "evil")


@pytest.fixture
def ctx() -> ContextMap:
    ctx = ContextMap()
    ctx.set("t", "version", "1.2.3")
    ctx.set("t", "env", "production")
    ctx.set("t", "safe_var", "safe")
    return ctx


def test_required_example_substitutes_both_names(ctx: ContextMap) -> None:
    result = ctx.interpolate("deploy --version={{.version}} --env={{.env}}")
    assert result == "deploy --version=1.2.3 --env=production"


@pytest.mark.parametrize(
    "template",
    [
        "{{range .}}leak{{end}}",
        "{{if .safe_var}}injected{{end}}",
        '{{define "x"}}evil{{end}}',
        '{{template "x"}}',
        "{{with .safe_var}}exec{{end}}",
        '{{.safe_var | printf "%s"}}',
    ],
)
def test_template_logic_is_never_evaluated(ctx: ContextMap, template: str) -> None:
    """Each form is left verbatim, so it can never evaluate to the payload.

    See docs/variables.md#interpolation-name.
    """
    result = ctx.interpolate(template)
    assert result not in POISON
    assert result == template


def test_dot_alone_dumps_nothing(ctx: ContextMap) -> None:
    result = ctx.interpolate("echo {{.}}")
    assert result == "echo {{.}}"
    assert not any(v.text in result for v in ctx.snapshot())


@pytest.mark.parametrize(
    "template",
    [
        "{{ .version }}",
        "{{.version }}",
        "{{ .version}}",
        "{{version}}",
        "{{.ver sion}}",
        "{.version}",
        "{{.version}",
        "{{.version|x}}",
        "{{.$x}}",
        "{{.}}",
        "{{}}",
        "{{range .}}{{end}}",
    ],
)
def test_only_the_exact_form_is_substituted(ctx: ContextMap, template: str) -> None:
    assert ctx.interpolate(template) == template


def test_name_characters_include_brackets_equals_comma_plus_minus() -> None:
    ctx = ContextMap()
    ctx.set("deploy[env=prod,region=eu]", "deploy[env=prod,region=eu].url", "https://x")
    ctx.set("task-a", "task-a.result", "r")
    assert ctx.interpolate("{{.deploy[env=prod,region=eu].url}}/{{.task-a.result}}") == (
        "https://x/r"
    )


def test_plus_is_a_name_character_so_it_is_looked_up() -> None:
    with pytest.raises(UndefinedVariableError) as info:
        ContextMap().interpolate("{{.a+b}}")
    assert info.value.name == "a+b"


def test_undefined_name_raises_with_the_name(ctx: ContextMap) -> None:
    with pytest.raises(UndefinedVariableError) as info:
        ctx.interpolate("echo {{.version}} {{.missing_thing}}")
    assert info.value.name == "missing_thing"
    assert str(info.value) == 'undefined variable "missing_thing"'


def test_substitution_is_single_pass() -> None:
    ctx = ContextMap()
    ctx.set("t", "x", "{{.y}}")
    ctx.set("t", "y", "secret")
    ctx.set("t", "z", "{{.undefined}}")
    assert ctx.interpolate("a={{.x}}") == "a={{.y}}"
    assert ctx.interpolate("{{.z}}") == "{{.undefined}}"


def test_values_are_inserted_verbatim_without_quoting_or_escape_processing() -> None:
    ctx = ContextMap()
    ctx.set("t", "v", r"x; rm -rf ~ \1 \g<0> $HOME 'q' \"")
    assert ctx.interpolate("echo {{.v}}") == r"echo x; rm -rf ~ \1 \g<0> $HOME 'q' \""


@pytest.mark.parametrize(
    ("value", "text"),
    [(42, "42"), (0.5, "0.5"), (1e-05, "1e-05"), (True, "true"), (False, "false"), ("", "")],
)
def test_values_are_rendered_per_type(value: str | float, text: str) -> None:
    ctx = ContextMap()
    ctx.set("t", "v", value)
    assert ctx.interpolate("[{{.v}}]") == f"[{text}]"


def test_short_alias_reaches_task_prefixed_variables() -> None:
    ctx = ContextMap()
    ctx.set_matrix("deploy[env=prod]", {"env": "prod"})
    assert ctx.interpolate("{{.env}}", task_id="deploy[env=prod]") == "prod"
    assert ctx.interpolate("{{.deploy[env=prod].env}}", task_id="deploy[env=prod]") == "prod"


def test_short_alias_wins_over_a_global_of_the_same_name() -> None:
    ctx = ContextMap()
    ctx.set("__runtime__", "env", "global")
    ctx.set_matrix("deploy[env=prod]", {"env": "prod"})
    assert ctx.interpolate("{{.env}}", task_id="deploy[env=prod]") == "prod"
    assert ctx.interpolate("{{.env}}", task_id="other") == "global"
    assert ctx.interpolate("{{.env}}") == "global"


def test_short_alias_is_not_available_without_task_id() -> None:
    ctx = ContextMap()
    ctx.set("build", "build.status", "ok")
    with pytest.raises(UndefinedVariableError):
        ctx.interpolate("{{.status}}")


def test_text_without_placeholders_is_returned_unchanged() -> None:
    assert ContextMap().interpolate("plain {{ text }} {x}") == "plain {{ text }} {x}"


def test_repeated_and_adjacent_placeholders() -> None:
    ctx = ContextMap()
    ctx.set("t", "a", "1")
    ctx.set("t", "b", "2")
    assert ctx.interpolate("{{.a}}{{.b}}{{.a}}") == "121"
    assert ctx.interpolate("{{{.a}}}") == "{1}"


def test_referenced_names_lists_exact_forms_only() -> None:
    text = "{{.a}} {{.b.c}} {{ .d }} {{.}} {{.a}} {{if .e}} {{.f[k=v]}} {{.g|h}}"
    assert referenced_names(text) == {"a", "b.c", "f[k=v]"}


def test_referenced_names_of_plain_text_is_empty() -> None:
    assert referenced_names("no templates here") == set()
