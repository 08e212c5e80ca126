"""An extension's configuration: checked against its schema, defaults filled, secrets kept secret."""

from __future__ import annotations

import logging
from pathlib import Path

import msgspec
import pytest

from symphony.hookspecs import ConfigurationError, Manifest, Secret
from symphony.host._settings import load_settings
from symphony.host.extensions import (
    check_manifest_text,
    read_secrets_file,
    resolve_configuration,
    secret_env_name,
    settings_values,
)

from .helpers import manifest_text

SECRET = "sk-live-7f3a9c"

_FIELDS = """
api_key = { type = "string", required = true, secret = true }
temperature = { type = "float", default = 0.7, min = 0.0, max = 2.0 }
mode = { type = "string", choices = ["fast", "careful"] }
tags = { type = "list", max = 2 }
"""


@pytest.fixture
def manifest() -> Manifest:
    text = manifest_text("llm-ext", "llm_ext").replace("[runtime]", _FIELDS + "\n[runtime]")
    parsed, problems = check_manifest_text(text)
    assert parsed is not None, problems
    return parsed


@pytest.fixture
def env() -> dict[str, str]:
    return {secret_env_name("llm-ext", "api_key"): SECRET}


def private_file(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def test_secret_environment_variable_name_is_upper_case_with_double_underscores() -> None:
    assert secret_env_name("llm-ext", "api_key") == "SYMPHONY_SECRET__LLM_EXT__API_KEY"


def test_defaults_fill_missing_values_and_the_secret_is_wrapped(manifest: Manifest, env: dict[str, str]) -> None:
    config = resolve_configuration(manifest, {}, environ=env, secrets_file=Path("/nonexistent"))
    assert config["temperature"] == 0.7
    assert "mode" not in config  # optional, no default
    assert isinstance(config["api_key"], Secret)
    assert config["api_key"].reveal() == SECRET


def test_given_values_override_defaults(manifest: Manifest, env: dict[str, str]) -> None:
    config = resolve_configuration(manifest, {"temperature": 1.5, "mode": "fast"}, environ=env)
    assert (config["temperature"], config["mode"]) == (1.5, "fast")


def test_values_given_as_text_are_read_as_toml_literals(manifest: Manifest, env: dict[str, str]) -> None:
    config = resolve_configuration(manifest, {"temperature": "1.25", "tags": '["a"]'}, environ=env)
    assert config["temperature"] == 1.25
    assert config["tags"] == ["a"]


def test_out_of_range_value_names_extension_field_expected_and_got(manifest: Manifest, env: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError) as raised:
        resolve_configuration(manifest, {"temperature": 3.5}, environ=env)
    assert str(raised.value) == (
        "Extension 'llm-ext' is not configured correctly:\n"
        "  `temperature`: expected a number >= 0 and <= 2, got float 3.5;"
        " set it in [extensions.config.llm-ext] of symphony.toml."
    )


def test_every_configuration_problem_is_reported_at_once(manifest: Manifest) -> None:
    values = {"temperature": "hot", "mode": "reckless", "tags": ["a", "b", "c"], "colour": "red"}
    with pytest.raises(ConfigurationError) as raised:
        resolve_configuration(manifest, values, environ={}, secrets_file=Path("/nonexistent"))
    lines = str(raised.value).splitlines()[1:]
    assert [line.split(":")[0].strip() for line in lines] == [
        "`colour`",
        "`api_key`",
        "`temperature`",
        "`mode`",
        "`tags`",
    ]
    assert "not a configuration field of llm-ext" in lines[0]
    assert "required (string) but not given; set SYMPHONY_SECRET__LLM_EXT__API_KEY" in lines[1]
    assert "expected one of 'fast', 'careful', got string 'reckless'" in lines[3]
    assert "expected an array of length <= 2, got array ['a', 'b', 'c'] (length 3)" in lines[4]


def test_secret_from_the_secrets_file_when_not_in_the_environment(manifest: Manifest, tmp_path: Path) -> None:
    secrets = private_file(tmp_path / "secrets.toml", f'[llm-ext]\napi_key = "{SECRET}"\n')
    config = resolve_configuration(manifest, {}, environ={}, secrets_file=secrets)
    assert config["api_key"].reveal() == SECRET


def test_environment_wins_over_the_secrets_file(manifest: Manifest, env: dict[str, str], tmp_path: Path) -> None:
    secrets = private_file(tmp_path / "secrets.toml", '[llm-ext]\napi_key = "from-file"\n')
    assert resolve_configuration(manifest, {}, environ=env, secrets_file=secrets)["api_key"].reveal() == SECRET


def test_another_extensions_secret_is_not_given(manifest: Manifest, tmp_path: Path) -> None:
    secrets = private_file(tmp_path / "secrets.toml", f'[other-ext]\napi_key = "{SECRET}"\n')
    environ = {secret_env_name("other-ext", "api_key"): SECRET}
    with pytest.raises(ConfigurationError, match="`api_key`: required"):
        resolve_configuration(manifest, {}, environ=environ, secrets_file=secrets)


def test_readable_secrets_file_is_refused_with_the_chmod_fix(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    path.write_text(f'[llm-ext]\napi_key = "{SECRET}"\n', encoding="utf-8")
    path.chmod(0o644)
    with pytest.raises(ConfigurationError) as raised:
        read_secrets_file(path)
    assert str(raised.value) == (
        f"Secrets file {path} is accessible by group or others (mode 644); make it private with: chmod 600 {path}"
    )


def test_missing_secrets_file_means_no_secrets(tmp_path: Path) -> None:
    assert read_secrets_file(tmp_path / "absent.toml") == {}


def test_secret_in_the_settings_is_refused_without_showing_it(manifest: Manifest, env: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError) as raised:
        resolve_configuration(manifest, {"api_key": SECRET}, environ=env)
    assert SECRET not in str(raised.value)
    assert "`api_key` is secret and may not be set in the settings (value not shown)" in str(raised.value)


def test_a_secret_that_does_not_fit_is_described_without_its_value(tmp_path: Path) -> None:
    text = manifest_text("pin-ext", "pin_ext").replace(
        "[runtime]", 'token = { type = "string", secret = true, min = 40 }\n\n[runtime]'
    )
    manifest, problems = check_manifest_text(text)
    assert manifest is not None, problems
    with pytest.raises(ConfigurationError) as raised:
        resolve_configuration(manifest, {}, environ={secret_env_name("pin-ext", "token"): SECRET})
    assert SECRET not in str(raised.value)
    assert "got a string (value hidden: secret) of length 14" in str(raised.value)


def test_resolved_configuration_never_shows_the_secret(
    manifest: Manifest, env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    config = resolve_configuration(manifest, {}, environ=env)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("symphony.tests").warning("resolved %s", config)
    assert SECRET not in repr(config)
    assert SECRET not in caplog.text
    assert SECRET not in msgspec.json.encode(config, enc_hook=Secret.enc_hook).decode()


def test_settings_file_and_environment_give_extension_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings_file = tmp_path / "symphony.toml"
    settings_file.write_text('[extensions.config.llm-ext]\nmode = "fast"\ntemperature = 0.2\n', encoding="utf-8")
    monkeypatch.setenv("SYMPHONY_EXTENSIONS__CONFIG__LLM_EXT__TEMPERATURE", "1.5")
    settings = load_settings(config_file=settings_file)
    values = settings_values(settings.extensions.config, "llm-ext")
    assert values == {"mode": "fast", "temperature": "1.5"}
