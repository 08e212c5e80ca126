"""docs/state.md holds: the state each command writes lands where the page says, under data_dir and cache_dir."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from symphony.host.cli import cli


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.chdir(tmp_path)
    data, cache = tmp_path / "data", tmp_path / "cache"
    (tmp_path / "symphony.toml").write_text(f'data_dir = "{data}"\ncache_dir = "{cache}"\n', encoding="utf-8")
    return data, cache


def run(*args: str) -> None:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output


def test_the_entry_point_index_is_in_cache_dir(dirs: tuple[Path, Path]) -> None:
    _, cache = dirs
    run("plugins", "list")
    assert list(cache.glob("entry-points-*.msgpack"))


def test_grants_and_the_audit_log_are_in_the_data_service_under_data_dir(dirs: tuple[Path, Path]) -> None:
    data, _ = dirs
    run("audit")
    assert (data / "data" / "service.db").is_file() and not (data / "permissions.db").exists()


def test_without_the_data_plugin_grants_and_the_audit_log_are_in_the_hosts_own_file(dirs: tuple[Path, Path]) -> None:
    data, _ = dirs
    run("--set", 'plugins.block=["data"]', "audit")
    assert (data / "permissions.db").is_file()


def test_the_hosts_own_permissions_file_moves_with_its_own_setting(dirs: tuple[Path, Path], tmp_path: Path) -> None:
    data, _ = dirs
    run("--set", 'plugins.block=["data"]', "--set", f'permissions.database="{tmp_path / "elsewhere.db"}"', "audit")
    assert (tmp_path / "elsewhere.db").is_file() and not (data / "permissions.db").exists()


def test_nothing_is_written_outside_the_two_directories(dirs: tuple[Path, Path], tmp_path: Path) -> None:
    run("plugins", "list")
    run("audit")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "data", "symphony.toml"]
