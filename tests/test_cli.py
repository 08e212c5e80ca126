"""The CLI in-process (click's runner) against the really installed builtins."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from symphony.host.cli import cli, main
from symphony.host.cli._app import HostFactory
from symphony.host.cli._startup import begin_startup

SYMPHONY = str(Path(sys.executable).parent / "symphony")


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYMPHONY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SYMPHONY_DATA_DIR", str(tmp_path / "data"))
    return CliRunner()


def test_version_names_the_release_and_the_plugin_api(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("symphony 0.1.0 (plugin API 1.")


def test_plugins_list_json_shows_the_builtins_with_their_distribution(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["plugins", "list", "--json"])
    assert result.exit_code == 0, result.output
    plugins = {p["name"]: p for p in json.loads(result.output)}
    assert plugins["editor"]["distribution"] == "symphony-builtins"
    assert plugins["editor"]["source"] == "builtin" and plugins["editor"]["status"] == "loaded"
    assert "symphony_provide_text_editing" in plugins["editor"]["hooks"]
    assert plugins["sandbox"]["distribution"] == "symphony-sandbox"
    assert plugins["symphony-core"]["source"] == "essential"


def test_doctor_json_reports_ports_checks_and_problems(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    providers = {p["port"]: p["provider"] for p in report["ports"]}
    assert providers["text_editing"] == "editor" and providers["artifact_store"] == "artifacts"
    assert report["checks"]["codecs"]["status"] == "ok"
    assert all(problem["fix"] for problem in report["problems"])


def test_blocking_a_builtin_removes_its_port_provider(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--set", "plugins.block=['editor']", "doctor", "--json"])
    report = json.loads(result.output)
    providers = {p["port"]: p["provider"] for p in report["ports"]}
    assert providers["text_editing"] is None


def test_distro_show_without_profiles_says_host_defaults(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["distro", "show", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["reason"] == "no profile installed: host defaults"


def test_plugins_profile_attributes_time_to_plugins_and_hooks(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["plugins", "profile", "--json", "--", "doctor", "--json"])
    assert result.exit_code == 0, result.output
    profile = json.loads(result.output[result.output.rindex('{\n  "command"') :])
    pairs = {(row["plugin"], row["hook"]) for row in profile["rows"]}
    assert ("codecs", "symphony_health_checks") in pairs and ("editor", "import") in pairs


def test_an_invalid_setting_is_one_line_without_traceback() -> None:
    result = subprocess.run(
        [SYMPHONY, "--set", "hooks.timeout=-3", "plugins", "list"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "Invalid setting `hooks.timeout` = -3" in result.stderr and "Traceback" not in result.stderr


def test_an_unknown_command_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["frobnicate"])
    assert result.exit_code == 2 and "No such command 'frobnicate'" in result.output


def test_plugins_reindex_rebuilds_the_cache(runner: CliRunner, tmp_path: Path) -> None:
    runner.invoke(cli, ["plugins", "list", "--json"])
    assert list((tmp_path / "cache").glob("entry-points-*.msgpack"))
    result = runner.invoke(cli, ["plugins", "reindex"])
    assert result.exit_code == 0 and "Removed 1 cached index file" in result.output


def test_config_show_json_reports_every_source_applied(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "symphony.toml").write_text("[hooks]\ntimeout = 9\n", encoding="utf-8")
    result = runner.invoke(cli, ["--set", "hooks.profile=true", "config", "show", "--json"])
    assert result.exit_code == 0, result.output
    settings = json.loads(result.output)["settings"]
    assert settings["hooks"] == {"timeout": 9.0, "profile": True}
    assert settings["cache_dir"] == str(tmp_path / "cache")  # from SYMPHONY_CACHE_DIR


def test_config_show_prints_settings_as_set_keys(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert "hooks.timeout = 30.0" in result.output.splitlines()


def test_the_cli_leaves_the_garbage_collector_as_it_found_it(runner: CliRunner) -> None:
    before = gc.get_threshold()
    with pytest.raises(SystemExit):
        main(["--version"])
    assert gc.get_threshold() == before


def test_garbage_is_collected_as_usual_once_the_host_has_loaded_and_nothing_is_frozen(runner: CliRunner) -> None:
    usual, frozen = gc.get_threshold(), gc.get_freeze_count()
    begin_startup()  # as main() does: start-up collects rarely
    assert gc.get_threshold() != usual
    HostFactory(None, ()).host()
    assert gc.get_threshold() == usual
    assert gc.get_freeze_count() == frozen  # a frozen object would keep any later cycle through it alive
