"""``symphony config show``: the settings as TOML, and with ``--origin`` the source of each key."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner

from symphony.host.cli import cli

if TYPE_CHECKING:  # pytest imports conftest itself; annotations only need the names
    from tests.conftest import Installer, Symphony


@pytest.fixture(autouse=True)
def private_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SYMPHONY_CONFIG", raising=False)
    monkeypatch.setenv("SYMPHONY_CACHE_DIR", str(tmp_path / "cache"))


def origins(*args: str) -> dict[str, str]:
    """``config show --origin`` read back: dotted key -> origin."""
    result = CliRunner().invoke(cli, [*args, "config", "show", "--origin"])
    assert result.exit_code == 0, result.output
    found = {}
    for line in result.output.splitlines():
        setting, _, where = line.rpartition("  # ")
        found[setting.removeprefix("# ").partition(" ")[0]] = where
    return found


def test_config_show_prints_a_toml_document_of_the_settings_in_effect(tmp_path: Path) -> None:
    (tmp_path / "symphony.toml").write_text('[components."my ext"]\ntimeout = 2\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--set", "plugins.priority.audit=5", "config", "show"])
    assert result.exit_code == 0, result.output
    shown = tomllib.loads(result.output)
    assert shown["components"]["my ext"]["timeout"] == 2.0
    assert shown["plugins"]["priority"] == {"audit": 5}
    assert shown["sandbox"]["runtimes"] == ["subprocess", "wasm", "mcp"]
    assert shown["cache_dir"] == str(tmp_path / "cache")


def test_config_show_writes_an_unset_key_as_a_comment_not_a_python_none() -> None:
    result = CliRunner().invoke(cli, ["config", "show"])
    assert "# distro is unset" in result.output.splitlines()
    assert "None" not in result.output and "'" not in result.output


def test_origin_names_the_file_for_a_key_it_sets(tmp_path: Path) -> None:
    (tmp_path / "symphony.toml").write_text("[hooks]\ntimeout = 9\n", encoding="utf-8")
    assert origins()["hooks.timeout"] == "file symphony.toml"


def test_origin_names_the_file_found_in_a_parent_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "symphony.toml").write_text("[hooks]\ntimeout = 9\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert origins()["hooks.timeout"] == f"file {tmp_path / 'symphony.toml'}"


def test_origin_names_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYMPHONY_HOOKS__TIMEOUT", "4")
    shown = origins()
    assert shown["hooks.timeout"] == "environment SYMPHONY_HOOKS__TIMEOUT"
    assert shown["cache_dir"] == "environment SYMPHONY_CACHE_DIR"


def test_a_table_given_as_json_in_the_environment_is_the_origin_of_its_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYMPHONY_COMPONENTS__HELLO__RETRY_POLICY", '{"max_attempts": 5}')
    assert (
        origins()["components.hello.retry_policy.max_attempts"]
        == "environment SYMPHONY_COMPONENTS__HELLO__RETRY_POLICY"
    )


def test_set_wins_over_the_environment_and_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "symphony.toml").write_text("[hooks]\ntimeout = 9\n", encoding="utf-8")
    monkeypatch.setenv("SYMPHONY_HOOKS__TIMEOUT", "4")
    assert origins("--set", "hooks.timeout=2")["hooks.timeout"] == "--set"


def test_keys_no_source_sets_are_defaults() -> None:
    shown = origins()
    assert shown["hooks.profile"] == "default" and shown["distro"] == "default"


def test_config_show_json_with_origin_maps_each_key_to_its_source() -> None:
    result = CliRunner().invoke(cli, ["--set", "hooks.timeout=2", "config", "show", "--origin", "--json"])
    report: dict[str, Any] = json.loads(result.output)
    assert report["origins"]["hooks.timeout"] == "--set" and report["settings"]["hooks"]["timeout"] == 2.0


@pytest.mark.slow  # installs the sample distribution
def test_origin_names_the_distribution_profile(installer: Installer, symphony: Any) -> None:
    sample: Symphony = symphony(installer.site("sample"))
    result = sample.run("config", "show", "--origin")
    assert result.returncode == 0, result.stderr
    assert "hooks.timeout = 5.0  # profile sample" in result.stdout.splitlines()
