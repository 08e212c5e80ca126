"""The extensions' shared ``temp`` root is the user's alone, or it is refused."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from symphony.hookspecs import ConfigurationError
from symphony.host.permissions import LocationResolver


@pytest.fixture
def shared_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for /tmp: the default temp root lands in it."""
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o1777)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    return shared


def resolver(tmp_path: Path) -> LocationResolver:
    return LocationResolver(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache", config_dir=tmp_path / "c")


def test_the_default_temp_root_is_created_for_the_user_alone(tmp_path: Path, shared_tmp: Path) -> None:
    temp = resolver(tmp_path).resolve("ext", "temp")
    root = shared_tmp / f"symphony-{os.getuid()}"
    assert temp == root / "ext"
    assert root.stat().st_mode & 0o777 == 0o700


def test_a_temp_root_planted_as_a_symlink_is_refused(tmp_path: Path, shared_tmp: Path) -> None:
    elsewhere = tmp_path / "attacker"
    elsewhere.mkdir(mode=0o700)
    (shared_tmp / f"symphony-{os.getuid()}").symlink_to(elsewhere)
    with pytest.raises(ConfigurationError, match="is a symlink"):
        resolver(tmp_path).resolve("ext", "temp")


def test_a_temp_root_writable_by_others_is_refused(tmp_path: Path, shared_tmp: Path) -> None:
    root = shared_tmp / f"symphony-{os.getuid()}"
    root.mkdir()
    root.chmod(0o777)
    with pytest.raises(ConfigurationError, match="writable by others"):
        resolver(tmp_path).resolve("ext", "temp")


def test_a_readable_temp_root_of_the_users_own_is_closed_to_others(tmp_path: Path, shared_tmp: Path) -> None:
    root = shared_tmp / f"symphony-{os.getuid()}"
    root.mkdir()
    root.chmod(0o755)
    resolver(tmp_path).resolve("ext", "temp")
    assert root.stat().st_mode & 0o777 == 0o700


@pytest.mark.skipif(os.getuid() != 0, reason="giving a directory to another user needs root")
def test_a_temp_root_owned_by_another_user_is_refused(tmp_path: Path, shared_tmp: Path) -> None:
    root = shared_tmp / f"symphony-{os.getuid()}"
    root.mkdir(mode=0o700)
    os.chown(root, 65534, 65534)
    with pytest.raises(ConfigurationError, match="owned by uid 65534"):
        resolver(tmp_path).resolve("ext", "temp")


def test_a_configured_temp_directory_is_used_as_given(tmp_path: Path, shared_tmp: Path) -> None:
    given = tmp_path / "mine"
    located = LocationResolver(data_dir=tmp_path / "d", cache_dir=tmp_path / "c", temp_dir=given)
    assert located.resolve("ext", "temp") == given / "ext"
    assert not (shared_tmp / f"symphony-{os.getuid()}").exists()
