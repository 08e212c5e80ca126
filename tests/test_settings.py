"""Settings: every source in its order of precedence, and errors that name the key."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import msgspec
import pytest
from click.testing import CliRunner

from symphony.hookspecs import ComponentOptionsSpec, ConfigurationError, hookimpl
from symphony.host import Host, load_settings
from symphony.host._settings import merge_overrides
from symphony.host.cli import cli


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("SYMPHONY_CONFIG", "SYMPHONY_HOOKS__TIMEOUT", "SYMPHONY_DISTRO"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_apply_without_any_source() -> None:
    settings = load_settings()
    assert settings.hooks.timeout == 30.0 and settings.plugins.block == []


def test_each_source_overrides_the_one_below(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profile = {
        "hooks": {"timeout": 1.0, "profile": True},
        "plugins": {"block": ["x"]},
        "sandbox": {"policy": "strict"},
    }
    config = write(tmp_path / "s.toml", "[hooks]\ntimeout = 2.0\n[plugins]\nblock = ['y']\n")
    assert load_settings(profile_defaults=profile).hooks.timeout == 1.0
    from_file = load_settings(config_file=config, profile_defaults=profile)
    assert from_file.hooks.timeout == 2.0 and from_file.plugins.block == ["y"]
    assert from_file.hooks.profile is True and from_file.sandbox.policy == "strict"  # untouched keys survive
    monkeypatch.setenv("SYMPHONY_HOOKS__TIMEOUT", "3")
    assert load_settings(config_file=config, profile_defaults=profile).hooks.timeout == 3.0
    overridden = load_settings(config_file=config, profile_defaults=profile, overrides={"hooks": {"timeout": 4}})
    assert overridden.hooks.timeout == 4.0


def test_symphony_toml_in_the_working_directory_is_read(tmp_path: Path) -> None:
    write(tmp_path / "symphony.toml", "[components.dag]\ntimeout = 9\n")
    assert load_settings().component("dag").timeout == 9.0


def test_an_invalid_value_names_the_key_the_value_and_what_is_allowed() -> None:
    with pytest.raises(
        ConfigurationError, match=r"Invalid setting `hooks.timeout` = -1: Input should be greater than 0"
    ):
        load_settings(overrides={"hooks": {"timeout": -1}})


def test_an_unknown_key_is_an_error_naming_it(tmp_path: Path) -> None:
    config = write(tmp_path / "s.toml", "[hooks]\ntimeuot = 3\n")
    with pytest.raises(ConfigurationError, match=r"Unknown setting `hooks.timeuot`"):
        load_settings(config_file=config)


def test_an_unknown_port_is_an_error_listing_the_ports() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown port\(s\) teleporter; ports are: text_editing"):
        load_settings(overrides={"ports": {"teleporter": "x"}})


def test_a_settings_file_that_is_not_toml_names_the_file_and_line(tmp_path: Path) -> None:
    config = write(tmp_path / "s.toml", "[hooks\n")
    with pytest.raises(ConfigurationError, match=r"s.toml is not valid TOML.*line 1"):
        load_settings(config_file=config)


def test_a_missing_settings_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="Cannot read settings file"):
        load_settings(config_file=tmp_path / "absent.toml")


def test_overrides_parse_values_as_toml_and_nest_by_dots() -> None:
    merged = merge_overrides(["hooks.timeout=5", "plugins.block=['a', 'b']", "distro=sample", "hooks.profile=true"])
    assert merged == {"hooks": {"timeout": 5, "profile": True}, "plugins": {"block": ["a", "b"]}, "distro": "sample"}


def test_an_override_without_equals_explains_the_form() -> None:
    with pytest.raises(ConfigurationError, match="expected KEY=VALUE"):
        merge_overrides(["hooks.timeout"])


def test_component_sections_reach_plugins_as_component_config() -> None:
    settings = load_settings(overrides={"components": {"dag": {"retry_policy": {"max_attempts": 5}}}})
    config = settings.component("dag").to_config()
    assert config.retry_policy.max_attempts == 5 and config.enabled is True


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"dat_dir": "/srv"}, "Unknown setting `dat_dir`; did you mean `data_dir`?"),
        ({"components": {"dag": {"timout": 3}}}, "`components.dag.timout`; did you mean `components.dag.timeout`?"),
        ({"zzz": 1}, "Unknown setting `zzz`; check its spelling against docs/configuration.md."),
    ],
    ids=["top level", "in a section", "like no valid key"],
)
def test_an_unknown_key_suggests_the_closest_valid_key_of_its_section(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings(overrides=overrides)
    assert message in str(raised.value)


# -- component options, checked through symphony_component_options ----------------------------


class WidgetOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    class Retry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
        attempts: int = 1

    max_concurrency: Annotated[int, msgspec.Meta(ge=1)] = 4
    retry: Retry = Retry()


class DeclaresWidgetOptions:
    @hookimpl
    def symphony_component_options(self) -> list[ComponentOptionsSpec]:
        return [ComponentOptionsSpec(name="widget", options=WidgetOptions)]


def widget_host(options: dict[str, object]) -> Host:
    settings = load_settings(overrides={"components": {"widget": {"options": options}}})
    return Host(settings, plugins=[DeclaresWidgetOptions()], discover_plugins=False)


def test_a_misspelt_component_option_is_refused_as_the_host_loads_naming_the_closest_key() -> None:
    with pytest.raises(
        ConfigurationError,
        match=r"Unknown setting `components.widget.options.max_concurency`; "
        r"did you mean `components.widget.options.max_concurrency`\? \(options of plugin 'DeclaresWidgetOptions'\)",
    ):
        widget_host({"max_concurency": 3}).load()


def test_a_misspelt_nested_component_option_is_named_in_full() -> None:
    with pytest.raises(ConfigurationError, match=r"did you mean `components.widget.options.retry.attempts`\?"):
        widget_host({"retry": {"attempt": 3}}).load()


def test_an_invalid_component_option_value_names_the_key_and_what_is_allowed() -> None:
    with pytest.raises(
        ConfigurationError,
        match=r"Invalid setting `components.widget.options.max_concurrency` = 0: Expected `int` >= 1",
    ):
        widget_host({"max_concurrency": 0}).load()


def test_valid_component_options_load() -> None:
    host = widget_host({"max_concurrency": 2, "retry": {"attempts": 3}}).load()
    assert host.context.component_config("widget").options == {"max_concurrency": 2, "retry": {"attempts": 3}}


def test_options_of_a_section_no_plugin_declares_are_left_to_its_component() -> None:
    settings = load_settings(overrides={"components": {"hello": {"options": {"anything": 1}}}})
    host = Host(settings, plugins=[DeclaresWidgetOptions()], discover_plugins=False).load()
    assert host.context.component_config("hello").options == {"anything": 1}


@pytest.mark.parametrize(
    ("key", "closest"),
    [
        ("dag.options.max_concurency", "components.dag.options.max_concurrency"),
        ("dag.options.dask.wrkers", "components.dag.options.dask.workers"),
        ("conductor.options.mdoe", "components.conductor.options.mode"),
        ("workflow.options.max_node", "components.workflow.options.max_nodes"),
    ],
)
def test_the_builtins_declare_their_options_so_config_show_refuses_a_typo(
    key: str, closest: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYMPHONY_CACHE_DIR", str(tmp_path / "cache"))
    result = CliRunner().invoke(cli, ["--set", f"components.{key}=3", "config", "show"])
    assert result.exit_code == 1
    assert f"Error: Unknown setting `components.{key}`; did you mean `{closest}`?" in result.output


# -- finding symphony.toml ----------------------------------------------------------------------


def test_symphony_toml_in_a_parent_directory_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "symphony.toml", "[hooks]\ntimeout = 7\n")
    deep = tmp_path / "src" / "pkg"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert load_settings().hooks.timeout == 7.0


def test_the_nearest_symphony_toml_wins_over_one_further_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "symphony.toml", "[hooks]\ntimeout = 7\n")
    project = tmp_path / "project"
    (project / "docs").mkdir(parents=True)
    write(project / "symphony.toml", "[hooks]\ntimeout = 8\n")
    monkeypatch.chdir(project / "docs")
    assert load_settings().hooks.timeout == 8.0


def test_symphony_config_wins_over_a_symphony_toml_found_upwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "symphony.toml", "[hooks]\ntimeout = 7\n")
    monkeypatch.setenv("SYMPHONY_CONFIG", str(write(tmp_path / "other.toml", "[hooks]\ntimeout = 9\n")))
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert load_settings().hooks.timeout == 9.0


def test_a_directory_named_symphony_toml_is_not_a_settings_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "symphony.toml", "[hooks]\ntimeout = 7\n")
    (tmp_path / "sub" / "symphony.toml").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "sub")
    assert load_settings().hooks.timeout == 7.0
