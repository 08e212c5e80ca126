"""A trusted publisher pinned in ``permissions.publisher_keys`` is trusted only for a registry-verified install.

Each test unpacks a real extension wheel onto ``sys.path`` (the layout an
installer leaves: the package and its ``.dist-info``), writes the
verification a registry install writes (or not), and asks the host's policy.
"""

from __future__ import annotations

import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from symphony.hookspecs import VERIFICATION_FILE, DistroProfile, PermissionPolicy, PublisherSignature
from symphony.host.permissions import EffectivePolicy, Subject
from symphony.host.permissions._identity import installed_publisher_check
from symphony.registry.signing import generate_key, public_text, sign
from symphony.registry.wheels import read_wheel
from tests.registry.wheels import make_extension_wheel

PUBLISHER = "Acme Labs"
Install = Callable[..., Path]


Keys = tuple[Ed25519PrivateKey, str, Ed25519PrivateKey, str]


@pytest.fixture
def keys() -> Keys:
    """A pinned key and another one, each with its public text."""
    pinned, other = generate_key(), generate_key()
    return pinned, public_text(pinned), other, public_text(other)


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Install]:
    """Unpack a wheel of extension ``acme-echo`` into a fresh site directory on sys.path; its .dist-info path."""
    site = tmp_path / "site"

    def unpack(*, signer: Ed25519PrivateKey | None, publisher: str = PUBLISHER) -> Path:
        wheel = make_extension_wheel(
            tmp_path / "wheels", distribution="acme-echo", version="1.0", extension="acme-echo", publisher=publisher
        )
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site)
        dist_info = next(site.glob("*.dist-info"))
        if signer is not None:
            signature = sign(signer, read_wheel(wheel).statement())
            (dist_info / VERIFICATION_FILE).write_bytes(msgspec.json.encode(signature))
        return dist_info

    (tmp_path / "wheels").mkdir()
    monkeypatch.syspath_prepend(str(site))
    site.mkdir()
    yield unpack


def _policy(pinned: str | None) -> EffectivePolicy:
    keys: dict[str, tuple[str, ...]] = {PUBLISHER: (pinned,)} if pinned else {}
    profile = DistroProfile(
        name="acme", permissions=PermissionPolicy(trusted_publishers=(PUBLISHER,), publisher_keys=keys)
    )
    return EffectivePolicy.combine(profile, check_publisher=installed_publisher_check(None, use_cache=False))


SUBJECT = Subject(name="acme-echo", publisher=PUBLISHER)


def test_a_pinned_publishers_install_verified_with_a_pinned_key_is_trusted(install: Install, keys: Keys) -> None:
    install(signer=keys[0])
    reason = _policy(keys[1]).trust_reason(SUBJECT)
    assert reason is not None and "verified their signature" in reason


def test_a_pinned_publishers_install_without_a_verification_is_not_trusted_and_says_why(
    install: Install, keys: Keys
) -> None:
    install(signer=None)
    policy = _policy(keys[1])
    assert policy.trust_reason(SUBJECT) is None
    why = policy.publisher_distrust(SUBJECT)
    assert why is not None and "carries no registry verification" in why and "symphony ext install" in why


def test_a_verification_by_a_key_the_policy_does_not_pin_is_not_trusted(install: Install, keys: Keys) -> None:
    install(signer=keys[2])
    policy = _policy(keys[1])
    assert policy.trust_reason(SUBJECT) is None
    assert "not a key of publisher 'Acme Labs'" in str(policy.publisher_distrust(SUBJECT))


def test_a_manifest_changed_after_verification_is_not_trusted(install: Install, keys: Keys) -> None:
    dist_info = install(signer=keys[0])
    manifest = next(dist_info.parent.glob("*/symphony-extension.toml"))
    manifest.write_text(manifest.read_text() + "\n# edited after install\n")
    policy = _policy(keys[1])
    assert policy.trust_reason(SUBJECT) is None
    assert "manifest was changed after the registry verified it" in str(policy.publisher_distrust(SUBJECT))


def test_a_verification_naming_another_publisher_is_not_trusted(install: Install, keys: Keys) -> None:
    dist_info = install(signer=keys[0])
    signature = msgspec.json.decode((dist_info / VERIFICATION_FILE).read_bytes(), type=PublisherSignature)
    statement = msgspec.structs.replace(signature.statement, publisher="Someone Else")
    forged = sign(keys[0], statement)
    (dist_info / VERIFICATION_FILE).write_bytes(msgspec.json.encode(forged))
    policy = _policy(keys[1])
    assert policy.trust_reason(SUBJECT) is None
    assert "names publisher 'Someone Else', not 'Acme Labs'" in str(policy.publisher_distrust(SUBJECT))


def test_a_trusted_publisher_not_in_publisher_keys_is_trusted_by_the_manifests_word(install: Install) -> None:
    install(signer=None)
    reason = _policy(None).trust_reason(SUBJECT)
    assert reason == f"its publisher {PUBLISHER!r} is trusted by the distribution's policy"
    assert _policy(None).publisher_distrust(SUBJECT) is None


def test_the_host_does_not_import_an_extension_to_check_it(install: Install, keys: Keys) -> None:
    install(signer=keys[0])
    _policy(keys[1]).trust_reason(SUBJECT)
    assert not any(name.startswith("acme_echo") for name in sys.modules)
