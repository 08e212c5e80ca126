"""The installer: uv or pip, pinned hashes, into a real throwaway environment; the verification file and uninstall."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from symphony.hookspecs import VERIFICATION_FILE, RegistryError
from symphony.registry.install.environment import inspect_environment
from symphony.registry.install.installer import Installer, Pinned
from symphony.registry.install.operations import write_verification
from symphony.registry.signing import generate_key, sign
from symphony.registry.wheels import read_wheel
from tests.registry.install_venv import ThrowawayVenv, make_venv
from tests.registry.wheels import make_extension_wheel

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThrowawayVenv]:
    yield make_venv(tmp_path_factory.mktemp("installer") / "venv")


@pytest.fixture(params=["uv", "pip"])
def installer(request: pytest.FixtureRequest, venv: ThrowawayVenv) -> Installer:
    chosen = Installer.choose(venv.python, request.param)
    assert chosen.tool == request.param
    return chosen


def _wheel(directory: Path, distribution: str) -> tuple[Path, Pinned]:
    wheel = make_extension_wheel(
        directory, distribution=distribution, version="1.0", extension=distribution, publisher="Acme Labs"
    )
    info = read_wheel(wheel)
    return wheel, Pinned(info.distribution, info.version, info.sha256)


def test_a_pinned_wheel_is_installed_into_the_target_environment_only(
    installer: Installer, venv: ThrowawayVenv, tmp_path: Path
) -> None:
    name = f"acme-{installer.tool}-install"
    _, pinned = _wheel(tmp_path, name)
    installer.install(tmp_path, [pinned])
    found = inspect_environment(venv.python).extensions[name]
    assert found.distribution == name and found.version == "1.0" and found.publisher == "Acme Labs"
    assert found.dist_info.parent == venv.site_packages
    installer.uninstall(name)


def test_a_wheel_whose_hash_differs_from_the_pin_is_not_installed(
    installer: Installer, venv: ThrowawayVenv, tmp_path: Path
) -> None:
    name = f"acme-{installer.tool}-tampered"
    _, pinned = _wheel(tmp_path, name)
    wrong = Pinned(pinned.distribution, pinned.version, "0" * 64)
    with pytest.raises(RegistryError, match=rf"{installer.tool} could not install {name} 1.0"):
        installer.install(tmp_path, [wrong])
    assert name not in inspect_environment(venv.python).extensions


def test_the_verification_file_is_recorded_so_uninstalling_removes_the_whole_distribution(
    installer: Installer, venv: ThrowawayVenv, tmp_path: Path
) -> None:
    name = f"acme-{installer.tool}-verified"
    wheel, pinned = _wheel(tmp_path, name)
    installer.install(tmp_path, [pinned])
    dist_info = inspect_environment(venv.python).extensions[name].dist_info
    signature = sign(generate_key(), read_wheel(wheel).statement())
    write_verification(dist_info, signature)
    assert (dist_info / VERIFICATION_FILE).read_bytes().startswith(b"{")
    assert f"{dist_info.name}/{VERIFICATION_FILE},sha256=" in (dist_info / "RECORD").read_text()
    installer.uninstall(name)
    assert not dist_info.exists()
    assert name not in inspect_environment(venv.python).extensions


def test_the_verification_file_gets_the_users_umask(venv: ThrowawayVenv, tmp_path: Path) -> None:
    installer = Installer.choose(venv.python, "uv")
    name = "acme-umask"
    wheel, pinned = _wheel(tmp_path, name)
    installer.install(tmp_path, [pinned])
    dist_info = inspect_environment(venv.python).extensions[name].dist_info
    previous = os.umask(0o027)
    try:
        write_verification(dist_info, sign(generate_key(), read_wheel(wheel).statement()))
    finally:
        os.umask(previous)
    assert (dist_info / VERIFICATION_FILE).stat().st_mode & 0o777 == 0o640
    installer.uninstall(name)
