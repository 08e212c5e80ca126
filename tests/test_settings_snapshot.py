"""The settings snapshot: validated settings reused while no source changed, so loading skips pydantic."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import pytest
from pydantic import BaseModel

from symphony.hookspecs import ConfigurationError
from symphony.host import load_settings
from symphony.host._settings import ComponentSettings, HookSettings, PluginSettings, RetrySettings
from symphony.host._snapshot import ComponentView, HooksView, PluginsView, RetryView, load_view, snapshot_file

if TYPE_CHECKING:
    from tests.conftest import Symphony


@pytest.fixture(autouse=True)
def own_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [n for n in os.environ if n.startswith("SYMPHONY_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SYMPHONY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_loading_the_host_imports_no_pydantic_before_or_after_the_snapshot(symphony: Callable[..., Symphony]) -> None:
    probe = "import sys; from symphony.host import Host; Host().load(); print('pydantic' in sys.modules)"
    runner = symphony()
    first, second = runner.python(probe), runner.python(probe)
    assert (first.stdout.strip(), second.stdout.strip()) == ("False", "False"), first.stderr + second.stderr


def test_settings_read_back_from_the_snapshot_equal_validated_ones(tmp_path: Path) -> None:
    write(tmp_path / "symphony.toml", "[hooks]\ntimeout = 4.5\n[components.x.options]\nn = 1\nnames = ['a', 'b']\n")
    load_view()
    assert snapshot_file().exists()
    again = load_view()
    assert again.hooks.timeout == 4.5 and again.component("x").options["n"] == 1
    assert again.full() == load_settings()


def test_an_edit_of_the_settings_file_is_seen_at_once(tmp_path: Path) -> None:
    config = write(tmp_path / "symphony.toml", "[hooks]\ntimeout = 5\n")
    assert load_view().hooks.timeout == 5
    write(config, "[hooks]\ntimeout = 7\n")  # same size
    assert load_view().hooks.timeout == 7


def test_a_changed_environment_variable_is_seen_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYMPHONY_HOOKS__TIMEOUT", "5")
    assert load_view().hooks.timeout == 5
    monkeypatch.setenv("SYMPHONY_HOOKS__TIMEOUT", "6")
    assert load_view().hooks.timeout == 6


def test_the_default_directories_follow_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "a"))
    assert load_view().data_dir == tmp_path / "a" / "symphony"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "b"))
    assert load_view().data_dir == tmp_path / "b" / "symphony"


def test_overrides_and_profile_defaults_are_part_of_the_stamp() -> None:
    assert load_view(overrides={"hooks": {"timeout": 2}}).hooks.timeout == 2
    assert load_view(overrides={"hooks": {"timeout": 3}}).hooks.timeout == 3
    assert load_view(profile_defaults={"plugins": {"block": ["x"]}}).plugins.block == ["x"]
    assert load_view().plugins.block == []


def test_invalid_settings_raise_every_time_and_are_never_saved(tmp_path: Path) -> None:
    write(tmp_path / "symphony.toml", "[hooks]\ntimeout = -1\n")
    for _ in range(2):
        with pytest.raises(ConfigurationError, match=r"hooks\.timeout"):
            load_view()
    assert not snapshot_file().exists()


def test_values_that_would_not_read_back_equal_are_not_saved(tmp_path: Path) -> None:
    """A local date-time reads back from MessagePack as text: such settings are validated every time."""
    write(tmp_path / "symphony.toml", "[components.x.options]\nwhen = 2024-05-01T10:00:00\n")
    view = load_view()
    assert not snapshot_file().exists()
    assert view.full() == load_settings()


def test_a_damaged_snapshot_is_rebuilt(tmp_path: Path) -> None:
    write(tmp_path / "symphony.toml", "[hooks]\ntimeout = 8\n")
    load_view()
    snapshot_file().write_bytes(b"\xc1 not msgpack")
    assert load_view().hooks.timeout == 8
    assert load_view().hooks.timeout == 8


@pytest.mark.parametrize(
    ("view", "model"),
    [
        (RetryView, RetrySettings),
        (ComponentView, ComponentSettings),
        (PluginsView, PluginSettings),
        (HooksView, HookSettings),
    ],
)
def test_each_view_has_the_fields_of_its_settings_section(view: type[msgspec.Struct], model: type[BaseModel]) -> None:
    assert set(view.__struct_fields__) == set(model.model_fields)


def test_the_snapshot_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    write(tmp_path / "symphony.toml", "[components.x.options]\napi_key = 'not for other users'\n")
    load_view()
    assert snapshot_file().stat().st_mode & 0o777 == 0o600


def test_saving_the_snapshot_leaves_only_the_snapshot_beside_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for timeout in ("5", "6"):
        monkeypatch.setenv("SYMPHONY_HOOKS__TIMEOUT", timeout)
        load_view()
    assert [p.name for p in snapshot_file().parent.iterdir()] == [snapshot_file().name]
    assert load_view().hooks.timeout == 6


def test_settings_with_and_without_a_profiles_defaults_are_both_kept() -> None:
    """A host with a distribution profile validates twice per run; neither may push the other out."""
    profile = {"plugins": {"block": ["x"]}}
    load_view()
    load_view(profile_defaults=profile)
    before = snapshot_file().stat().st_ino
    assert load_view().plugins.block == [] and load_view(profile_defaults=profile).plugins.block == ["x"]
    assert snapshot_file().stat().st_ino == before  # both found: nothing written again


def test_an_environment_value_that_is_not_utf8_only_skips_the_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYMPHONY_UNRELATED", "caf\udce9")  # the bytes b"caf\xe9", as os.environ holds them
    assert load_view().hooks.timeout == 30.0
    assert not snapshot_file().exists()
