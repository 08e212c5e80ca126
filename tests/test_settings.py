"""Settings: every source in its order of precedence, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from symphony.hookspecs import ConfigurationError
from symphony.host import load_settings
from symphony.host._settings import merge_overrides


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
