"""Publisher keys: generated, kept private, never overwritten, and their signatures verify with the SDK."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from symphony.hookspecs import RegistryError, ReleaseStatement, VerificationError, verify_signature
from symphony.registry import signing


def _statement() -> ReleaseStatement:
    return ReleaseStatement(
        publisher="Acme Labs",
        distribution="acme-echo",
        version="1.0.0",
        filename="acme_echo-1.0.0-py3-none-any.whl",
        sha256="ab" * 32,
        manifest_sha256="cd" * 32,
    )


def test_a_saved_key_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "acme.pem"
    signing.save_private_key(signing.generate_key(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_saved_key_loads_back_with_the_same_public_half(tmp_path: Path) -> None:
    key = signing.generate_key()
    signing.save_private_key(key, tmp_path / "acme.pem")
    assert signing.public_text(signing.load_private_key(tmp_path / "acme.pem")) == signing.public_text(key)


def test_an_existing_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "acme.pem"
    first = signing.generate_key()
    signing.save_private_key(first, path)
    with pytest.raises(RegistryError, match="already exists"):
        signing.save_private_key(signing.generate_key(), path)
    assert signing.public_text(signing.load_private_key(path)) == signing.public_text(first)
    assert [p.name for p in tmp_path.iterdir()] == ["acme.pem"]


def test_a_missing_key_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="symphony ext keygen"):
        signing.load_private_key(tmp_path / "none.pem")


def test_a_file_that_is_not_a_pem_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.pem").write_text("hello")
    with pytest.raises(RegistryError, match="not an unencrypted PEM private key"):
        signing.load_private_key(tmp_path / "bad.pem")


def test_a_public_key_is_written_in_the_sdk_form() -> None:
    text = signing.public_text(signing.generate_key())
    assert text.startswith("ed25519:")
    assert "=" not in text


def test_a_signature_verifies_with_the_publishers_key() -> None:
    key = signing.generate_key()
    signature = signing.sign(key, _statement())
    verify_signature(signature, [signing.public_text(key)])


def test_a_signature_does_not_verify_with_another_key() -> None:
    signature = signing.sign(signing.generate_key(), _statement())
    with pytest.raises(VerificationError, match="not a key of publisher 'Acme Labs'"):
        verify_signature(signature, [signing.public_text(signing.generate_key())])
