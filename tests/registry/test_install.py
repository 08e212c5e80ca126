"""``symphony ext install|update|uninstall`` against the real index server, into a real throwaway environment.

One environment for the module (the project's .venv is never touched), with
a distribution profile that denies ``system:devices`` and trusts publisher
"Trusted Co" pinned to one key.  Every test publishes its own extension
names, so their order does not matter.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from symphony.hookspecs import VERIFICATION_FILE
from tests.registry.conftest import Publisher, RegistryServer, make_publisher, publish_wheel
from tests.registry.install_venv import ThrowawayVenv, make_venv
from tests.registry.wheels import make_extension_wheel

pytestmark = pytest.mark.slow

_PROFILE = """
from symphony.hookspecs import DistroProfile, PermissionPolicy

PROFILE = DistroProfile(
    name="r3-test",
    permissions=PermissionPolicy(
        deny=("system:devices",),
        trusted_publishers=("Trusted Co",),
        publisher_keys={{"Trusted Co": ({key!r},)}},
    ),
)
"""


@pytest.fixture(scope="module")
def trusted(registry_server: RegistryServer, tmp_path_factory: pytest.TempPathFactory) -> Publisher:
    publisher = make_publisher(tmp_path_factory.mktemp("trusted"), "Trusted Co")
    registry_server.repository().add_publisher_key(publisher.name, publisher.public)
    return publisher


@pytest.fixture(scope="module")
def venv(
    registry_server: RegistryServer, trusted: Publisher, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ThrowawayVenv]:
    made = make_venv(tmp_path_factory.mktemp("install") / "venv")
    made.add_distribution_profile(_PROFILE.format(key=trusted.public))
    used = made.symphony("registry", "use", registry_server.url, "--root", str(registry_server.root))
    assert used.returncode == 0, used.stdout + used.stderr
    yield made


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    return tmp_path / "wheels"


def _publish(
    server: RegistryServer,
    wheels: Path,
    publisher: Publisher,
    name: str,
    version: str = "1.0.0",
    *,
    extension: str | None = None,
    **options: Any,
) -> Path:
    wheel = make_extension_wheel(
        wheels, distribution=name, version=version, extension=extension or name, publisher=publisher.name, **options
    )
    publish_wheel(server, wheel, publisher)
    return wheel


def _ok(result: Any) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return str(result.stdout)


def _refused(result: Any) -> str:
    assert result.returncode != 0, f"unexpectedly succeeded:\n{result.stdout}"
    assert "Traceback" not in result.stderr, result.stderr
    return f"{result.stdout}\n{result.stderr}"


def _installed(venv: ThrowawayVenv, distribution: str) -> list[str]:
    stem = distribution.replace("-", "_")
    return [name for name in venv.distributions() if name.startswith(f"{stem}-")]


def _grants(venv: ThrowawayVenv, name: str) -> list[str]:
    report = json.loads(_ok(venv.symphony("ext", "permissions", name, "--json")))
    return [grant["permission"] for grant in report["granted"]]


# -- consent ----------------------------------------------------------------------------------------------------------


def test_install_with_yes_shows_the_capabilities_verifies_installs_and_grants_them(
    registry_server: RegistryServer, publisher: Publisher, venv: ThrowawayVenv, wheels: Path
) -> None:
    _publish(registry_server, wheels, publisher, "r3-notes", capabilities={"network_access": ["api.example.com"]})
    out = _ok(venv.symphony("ext", "install", "r3-notes", "--yes"))
    assert "[?] network:api.example.com  (asks you)" in out
    assert "Installed r3-notes 1.0.0 (r3-notes, signed by Acme Labs, verified" in out
    [dist_info] = _installed(venv, "r3-notes")
    signature = json.loads((venv.site_packages / dist_info / VERIFICATION_FILE).read_text())
    assert signature["statement"]["publisher"] == "Acme Labs"
    assert _grants(venv, "r3-notes") == ["network:api.example.com"]


def test_the_prompt_answered_yes_on_a_terminal_installs(
    registry_server: RegistryServer, publisher: Publisher, venv: ThrowawayVenv, wheels: Path
) -> None:
    _publish(registry_server, wheels, publisher, "r3-asked", capabilities={"model_access": ["gpt-4"]})
    out = _ok(venv.symphony_on_terminal("ext", "install", "r3-asked", answer="y\n"))
    assert "Allow r3-asked model:gpt-4 and install it?" in out
    assert _installed(venv, "r3-asked") and _grants(venv, "r3-asked") == ["model:gpt-4"]


def test_the_prompt_answered_no_installs_nothing(
    registry_server: RegistryServer, publisher: Publisher, venv: ThrowawayVenv, wheels: Path
) -> None:
    _publish(registry_server, wheels, publisher, "r3-declined", capabilities={"model_access": ["gpt-4"]})
    out = _refused(venv.symphony_on_terminal("ext", "install", "r3-declined", answer="n\n"))
    assert "you did not consent. Nothing changed." in out
    assert not _installed(venv, "r3-declined")


def test_ci_mode_without_yes_refuses_and_says_how_to_proceed(
    registry_server: RegistryServer, publisher: Publisher, venv: ThrowawayVenv, wheels: Path
) -> None:
    _publish(registry_server, wheels, publisher, "r3-ci", capabilities={"network_access": ["x.example.com"]})
    out = _refused(venv.symphony("ext", "install", "r3-ci", env=venv.environ(CI="true")))
    assert "in CI mode (CI=true)" in out and "Re-run with --yes" in out
    assert not _installed(venv, "r3-ci")


def test_a_capability_the_distribution_denies_refuses_the_install_even_with_yes(
    registry_server: RegistryServer, publisher: Publisher, venv: ThrowawayVenv, wheels: Path
) -> None:
    _publish(registry_server, wheels, publisher, "r3-devices", capabilities={"system_access": ["devices"]})
    out = _refused(venv.symphony("ext", "install", "r3-devices", "--yes"))
    assert "[x] system:devices  (denied by the distribution's policy)" in out
    assert "it declares system:devices, denied by the distribution's policy" in out
    assert not _installed(venv, "r3-devices")


# -- update and uninstall ---------------------------------------------------------------------------------------------


def test_an_update_asks_consent_only_for_the_new_capability(
    registry_server: RegistryServer, publisher: Publisher, venv: ThrowawayVenv, wheels: Path
) -> None:
    _publish(registry_server, wheels, publisher, "r3-upd", capabilities={"network_access": ["a.example.com"]})
    _ok(venv.symphony("ext", "install", "r3-upd", "--yes"))
    both = {"network_access": ["a.example.com", "b.example.com"]}
    _publish(registry_server, wheels, publisher, "r3-upd", "2.0.0", capabilities=both)
    refused = _refused(venv.symphony("ext", "update", "r3-upd", env=venv.environ(CI="true")))
    assert "it asks for network:b.example.com and nobody" in refused
    assert "network:a.example.com  (asks you; already declared)" in refused
    assert _installed(venv, "r3-upd") == ["r3_upd-1.0.0.dist-info"]
    out = _ok(venv.symphony("ext", "update", "r3-upd", "--yes"))
    assert "Updated r3-upd 2.0.0" in out
    assert _installed(venv, "r3-upd") == ["r3_upd-2.0.0.dist-info"]
    assert sorted(_grants(venv, "r3-upd")) == ["network:a.example.com", "network:b.example.com"]
    assert "nothing to update" in _ok(venv.symphony("ext", "update", "r3-upd", "--yes"))


def test_an_update_revokes_the_grant_of_a_capability_the_new_version_dropped(
    registry_server: RegistryServer, publisher: Publisher, venv: ThrowawayVenv, wheels: Path
) -> None:
    both = {"network_access": ["keep.example.com", "drop.example.com"]}
    _publish(registry_server, wheels, publisher, "r3-drop", capabilities=both)
    _ok(venv.symphony("ext", "install", "r3-drop", "--yes"))
    _publish(
        registry_server, wheels, publisher, "r3-drop", "2.0.0", capabilities={"network_access": ["keep.example.com"]}
    )
    out = _ok(venv.symphony("ext", "update", "r3-drop", "--yes"))
    assert "[-] network:drop.example.com  (no longer declared)" in out
    assert "Revoked network:drop.example.com from r3-drop." in out
    assert _grants(venv, "r3-drop") == ["network:keep.example.com"]


def test_installing_the_release_already_installed_says_so_without_asking_again(
    registry_server: RegistryServer, publisher: Publisher, venv: ThrowawayVenv, wheels: Path
) -> None:
    _publish(registry_server, wheels, publisher, "r3-again", capabilities={"network_access": ["again.example.com"]})
    _ok(venv.symphony("ext", "install", "r3-again", "--yes"))
    out = _ok(venv.symphony("ext", "install", "r3-again", env=venv.environ(CI="true")))
    assert "r3-again 1.0.0 (r3-again) is already installed and verified; nothing to do." in out
    assert "will be able to" not in out


def test_reinstall_verifies_and_asks_again_for_the_release_already_installed(
    registry_server: RegistryServer, publisher: Publisher, venv: ThrowawayVenv, wheels: Path
) -> None:
    _publish(registry_server, wheels, publisher, "r3-repair", capabilities={"network_access": ["fix.example.com"]})
    _ok(venv.symphony("ext", "install", "r3-repair", "--yes"))
    refused = _refused(venv.symphony("ext", "install", "r3-repair", "--reinstall", env=venv.environ(CI="true")))
    assert "Not installing r3-repair 1.0.0 in CI mode" in refused
    assert "Installed r3-repair 1.0.0" in _ok(venv.symphony("ext", "install", "r3-repair", "--reinstall", "--yes"))


def test_installing_a_yanked_release_pinned_exactly_warns_with_the_reason(
    registry_server: RegistryServer, publisher: Publisher, venv: ThrowawayVenv, wheels: Path
) -> None:
    _publish(registry_server, wheels, publisher, "r3-yanked")
    registry_server.repository().yank("r3-yanked", "1.0.0", "breaks on Tuesdays")
    result = venv.symphony("ext", "install", "r3-yanked==1.0.0", "--yes")
    _ok(result)
    assert "Warning: r3-yanked 1.0.0 is yanked (breaks on Tuesdays)" in result.stderr


def test_uninstall_removes_the_distribution_and_its_grants(
    registry_server: RegistryServer, publisher: Publisher, venv: ThrowawayVenv, wheels: Path
) -> None:
    _publish(registry_server, wheels, publisher, "r3-gone", capabilities={"network_access": ["gone.example.com"]})
    _ok(venv.symphony("ext", "install", "r3-gone", "--yes"))
    out = _ok(venv.symphony("ext", "uninstall", "r3-gone", "--yes"))
    assert "Uninstalled r3-gone 1.0.0." in out and "Revoked network:gone.example.com from r3-gone." in out
    assert not _installed(venv, "r3-gone")
    grants = json.loads(_ok(venv.symphony("ext", "grants", "--json")))
    assert "r3-gone" not in json.dumps(grants)


def test_uninstall_without_yes_and_without_a_terminal_removes_nothing(
    registry_server: RegistryServer, publisher: Publisher, venv: ThrowawayVenv, wheels: Path
) -> None:
    _publish(registry_server, wheels, publisher, "r3-kept")
    _ok(venv.symphony("ext", "install", "r3-kept", "--yes"))
    assert "Re-run with --yes" in _refused(venv.symphony("ext", "uninstall", "r3-kept"))
    assert _installed(venv, "r3-kept")


# -- attacks ----------------------------------------------------------------------------------------------------------


def test_a_tampered_wheel_is_refused_and_nothing_is_installed(
    registry_server: RegistryServer, publisher: Publisher, venv: ThrowawayVenv, wheels: Path
) -> None:
    wheel = _publish(registry_server, wheels, publisher, "r3-tampered")
    served = registry_server.dir / "packages" / wheel.name
    served.write_bytes(served.read_bytes()[:-8] + b"tampered")  # the mirror serves other bytes of the same length
    out = _refused(venv.symphony("ext", "install", "r3-tampered", "--yes"))
    assert "tamper" in out.lower()
    assert not _installed(venv, "r3-tampered")


def test_a_signature_by_a_key_the_registry_does_not_list_is_refused(
    registry_server: RegistryServer, publisher: Publisher, venv: ThrowawayVenv, wheels: Path, tmp_path: Path
) -> None:

    from symphony.registry.wheels import read_wheel

    wheel = make_extension_wheel(
        wheels, distribution="r3-forged", version="1.0.0", extension="r3-forged", publisher=publisher.name
    )
    impostor = make_publisher(tmp_path, publisher.name)  # same name, a key the registry never listed
    info = read_wheel(wheel)
    metadata = info.release_metadata(0.0, impostor.sign(wheel))
    # What a compromised upload path would sign into the index: the client must not rely on the server's check.
    registry_server.repository().add_releases([(wheel, metadata, info.sha256, info.length)])
    out = _refused(venv.symphony("ext", "install", "r3-forged", "--yes"))
    assert "which is not a key of publisher 'Acme Labs'" in out
    assert not _installed(venv, "r3-forged")


def test_a_release_signed_with_a_revoked_key_is_refused(
    registry_server: RegistryServer, venv: ThrowawayVenv, wheels: Path, tmp_path: Path
) -> None:
    revoked = make_publisher(tmp_path, "Revoked Inc")
    repository = registry_server.repository()
    repository.add_publisher_key(revoked.name, revoked.public)
    _publish(registry_server, wheels, revoked, "r3-revoked")
    repository.revoke_publisher_key(revoked.name, revoked.public)
    out = _refused(venv.symphony("ext", "install", "r3-revoked", "--yes"))
    assert "which the registry has revoked" in out
    assert not _installed(venv, "r3-revoked")


def test_a_distribution_squatting_an_installed_extension_name_is_refused_naming_both(
    registry_server: RegistryServer, publisher: Publisher, venv: ThrowawayVenv, wheels: Path, tmp_path: Path
) -> None:
    _publish(registry_server, wheels, publisher, "r3-owned")
    _ok(venv.symphony("ext", "install", "r3-owned", "--yes"))
    squatter = make_publisher(tmp_path, "Squat Corp")
    registry_server.repository().add_publisher_key(squatter.name, squatter.public)
    _publish(registry_server, wheels, squatter, "r3-squat", extension="r3-owned")
    out = _refused(venv.symphony("ext", "install", "r3-squat", "--yes"))
    assert "'r3-owned' is already provided by r3-owned 1.0.0; r3-squat would take it over (name squatting)" in out
    assert not _installed(venv, "r3-squat")


def test_an_api_incompatible_version_is_skipped_with_the_reason(
    registry_server: RegistryServer, publisher: Publisher, venv: ThrowawayVenv, wheels: Path
) -> None:
    _publish(registry_server, wheels, publisher, "r3-compat", "1.0.0")
    _publish(registry_server, wheels, publisher, "r3-compat", "2.0.0", symphony_api="^2.0")
    out = _refused(venv.symphony("ext", "install", "r3-compat==2.0.0", "--yes"))
    assert "2.0.0" in out and "^2.0" in out
    assert "Installed r3-compat 1.0.0" in _ok(venv.symphony("ext", "install", "r3-compat", "--yes"))


# -- the host's trust in a pinned publisher ---------------------------------------------------------------------------


def test_a_pinned_trusted_publishers_verified_install_is_trusted_until_its_manifest_changes(
    registry_server: RegistryServer, trusted: Publisher, venv: ThrowawayVenv, wheels: Path
) -> None:
    _publish(registry_server, wheels, trusted, "r3-trusted", capabilities={"network_access": ["t.example.com"]})
    out = _ok(venv.symphony("ext", "install", "r3-trusted", "--yes"))
    assert "granted: publisher 'Trusted Co' is trusted" in out
    shown = _ok(venv.symphony("ext", "permissions", "r3-trusted"))
    assert "the registry verified their signature on it" in shown
    manifest = venv.site_packages / "r3_trusted" / "symphony-extension.toml"
    manifest.write_text(manifest.read_text() + "\n# edited\n")
    shown = _ok(venv.symphony("ext", "permissions", "r3-trusted"))
    assert "trusted: no" in shown
    assert "its manifest was changed after the registry verified it" in shown


def test_a_key_the_distribution_does_not_pin_for_a_trusted_publisher_is_refused(
    registry_server: RegistryServer, venv: ThrowawayVenv, wheels: Path, tmp_path: Path
) -> None:
    second = make_publisher(tmp_path, "Trusted Co")  # a key the registry lists, but the profile does not pin
    registry_server.repository().add_publisher_key(second.name, second.public)
    _publish(registry_server, wheels, second, "r3-unpinned")
    out = _refused(venv.symphony("ext", "install", "r3-unpinned", "--yes"))
    assert "the distribution's policy pins their keys to" in out
    assert not _installed(venv, "r3-unpinned")


# -- dependencies -----------------------------------------------------------------------------------------------------


def _library_wheel(directory: Path, name: str, version: str) -> Path:
    """A plain library (no extension) wheel: one module and its metadata."""
    import base64
    import hashlib
    import zipfile

    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    files = {
        f"{module}.py": b"VALUE = 1\n",
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n".encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: r3-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n\n",
    }

    def line(path: str, data: bytes) -> str:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        return f"{path},sha256={digest},{len(data)}"

    files[f"{dist_info}/RECORD"] = (
        "\n".join([*(line(p, d) for p, d in files.items()), f"{dist_info}/RECORD,,"]) + "\n"
    ).encode()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return path


def test_a_missing_dependency_comes_from_the_same_index_pinned_and_a_present_one_is_kept(
    registry_server: RegistryServer, publisher: Publisher, venv: ThrowawayVenv, wheels: Path
) -> None:
    publish_wheel(registry_server, _library_wheel(wheels, "r3-lib", "1.2.0"))
    _publish(registry_server, wheels, publisher, "r3-needs", requires_dist=("r3-lib>=1.0", "msgspec"))
    out = _ok(venv.symphony("ext", "install", "r3-needs", "--yes"))
    assert "with r3-lib 1.2.0." in out and "msgspec" not in out
    assert _installed(venv, "r3-lib") == ["r3_lib-1.2.0.dist-info"]
    assert not any(name.startswith("msgspec") for name in venv.distributions())


def test_a_dependency_the_index_cannot_provide_stops_the_install_naming_it(
    registry_server: RegistryServer, publisher: Publisher, venv: ThrowawayVenv, wheels: Path
) -> None:
    _publish(registry_server, wheels, publisher, "r3-orphan", requires_dist=("r3-nowhere>=1",))
    out = _refused(venv.symphony("ext", "install", "r3-orphan", "--yes"))
    assert "r3-orphan requires r3-nowhere>=1, which this registry cannot provide" in out
    assert not _installed(venv, "r3-orphan")


def test_with_venv_the_dependencies_stay_out_of_the_host_environment(
    registry_server: RegistryServer, publisher: Publisher, venv: ThrowawayVenv, wheels: Path
) -> None:
    publish_wheel(registry_server, _library_wheel(wheels, "r3-own-lib", "1.0.0"))
    _publish(registry_server, wheels, publisher, "r3-own", requires_dist=("r3-own-lib",))
    out = _ok(venv.symphony("ext", "install", "r3-own", "--yes", "--venv"))
    assert "Installed r3-own 1.0.0" in out
    assert _installed(venv, "r3-own") and not _installed(venv, "r3-own-lib")


def test_venv_is_refused_for_an_in_process_extension(
    registry_server: RegistryServer, publisher: Publisher, venv: ThrowawayVenv, wheels: Path
) -> None:
    _publish(registry_server, wheels, publisher, "r3-inproc", runtime="python")
    out = _refused(venv.symphony("ext", "install", "r3-inproc", "--yes", "--venv"))
    assert "only a subprocess extension runs in its own virtual environment" in out


def test_consent_shows_the_signed_wheels_capabilities_not_the_registrys_description(
    registry_server: RegistryServer, publisher: Publisher, venv: ThrowawayVenv, wheels: Path
) -> None:
    from symphony.registry.wheels import read_wheel

    capabilities = {"network_access": ["hidden.example.com"]}
    wheel = make_extension_wheel(
        wheels,
        distribution="r3-hidden",
        version="1.0.0",
        extension="r3-hidden",
        publisher=publisher.name,
        capabilities=capabilities,
    )
    info = read_wheel(wheel)
    assert info.manifest is not None
    described = {**info.manifest, "capabilities": {}}  # a registry that hides what the wheel declares
    metadata = msgspec.structs.replace(info.release_metadata(0.0, publisher.sign(wheel)), manifest=described)
    registry_server.repository().add_releases([(wheel, metadata, info.sha256, info.length)])
    out = _refused(venv.symphony("ext", "install", "r3-hidden", env=venv.environ(CI="true")))
    assert "asks for network:hidden.example.com" in out
    assert not _installed(venv, "r3-hidden")


def test_uninstall_of_a_distribution_already_removed_still_revokes_its_grants(
    registry_server: RegistryServer, publisher: Publisher, venv: ThrowawayVenv, wheels: Path
) -> None:
    from symphony.registry.install.installer import Installer

    _publish(registry_server, wheels, publisher, "r3-half", capabilities={"network_access": ["half.example.com"]})
    _ok(venv.symphony("ext", "install", "r3-half", "--yes"))
    Installer.choose(venv.python, "uv").uninstall("r3-half")  # removed behind symphony's back, grants left
    out = _ok(venv.symphony("ext", "uninstall", "r3-half", "--yes"))
    assert "No extension 'r3-half' is installed; removing any grants left" in out
    assert "Revoked network:half.example.com from r3-half." in out


def test_pip_installs_and_uninstalls_when_chosen(
    registry_server: RegistryServer, publisher: Publisher, venv: ThrowawayVenv, wheels: Path
) -> None:
    _publish(registry_server, wheels, publisher, "r3-by-pip")
    assert "verified; pip)." in _ok(venv.symphony("ext", "install", "r3-by-pip", "--yes", "--installer", "pip"))
    assert _installed(venv, "r3-by-pip")
    _ok(venv.symphony("ext", "uninstall", "r3-by-pip", "--yes", "--installer", "pip"))
    assert not _installed(venv, "r3-by-pip")
