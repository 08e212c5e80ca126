"""Publisher signatures (SDK): one canonical encoding, checked the same way by registry and host."""

from __future__ import annotations

import base64

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from symphony.hookspecs import (
    ConfigurationError,
    PermissionPolicy,
    PublisherSignature,
    ReleaseStatement,
    VerificationError,
    key_id,
    parse_public_key,
    statement_bytes,
    verify_signature,
)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _key() -> tuple[Ed25519PrivateKey, str]:
    private = Ed25519PrivateKey.generate()
    return private, "ed25519:" + _b64(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


STATEMENT = ReleaseStatement(
    publisher="Acme",
    distribution="acme-summarise",
    version="1.0.0",
    filename="acme_summarise-1.0.0-py3-none-any.whl",
    sha256="a" * 64,
    manifest_sha256="b" * 64,
)


def _signed(private: Ed25519PrivateKey, public: str, statement: ReleaseStatement = STATEMENT) -> PublisherSignature:
    return PublisherSignature(statement=statement, key=public, signature=_b64(private.sign(statement_bytes(statement))))


def test_a_signature_by_one_of_the_publishers_keys_verifies() -> None:
    private, public = _key()
    verify_signature(_signed(private, public), [public])


def test_the_signed_bytes_are_sorted_compact_json() -> None:
    assert statement_bytes(STATEMENT).startswith(b'{"distribution":"acme-summarise","filename":')


def test_a_changed_statement_is_refused_as_altered() -> None:
    private, public = _key()
    signed = _signed(private, public)
    altered = msgspec.structs.replace(signed, statement=msgspec.structs.replace(STATEMENT, sha256="c" * 64))
    with pytest.raises(VerificationError, match="altered after 'Acme' signed it"):
        verify_signature(altered, [public])


def test_a_key_that_is_not_the_publishers_is_refused_with_both_key_ids() -> None:
    private, public = _key()
    _, other = _key()
    with pytest.raises(VerificationError, match=f"key {key_id(public)}.*their keys: {key_id(other)}"):
        verify_signature(_signed(private, public), [other])


def test_a_statement_of_another_type_is_refused() -> None:
    private, public = _key()
    foreign = msgspec.structs.replace(STATEMENT, type="something-else/v1")
    with pytest.raises(VerificationError, match="not a 'symphony-publisher-signature/v1'"):
        verify_signature(_signed(private, public, foreign), [public])


@pytest.mark.parametrize(
    ("text", "problem"),
    [("rsa:AAAA", "should start with 'ed25519:'"), ("ed25519:AAAA", "has 3 bytes"), ("ed25519:%%%", "not base64url")],
)
def test_a_malformed_public_key_says_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(VerificationError, match=problem):
        parse_public_key(text)


def test_a_policys_publisher_keys_are_checked_when_the_profile_is_read() -> None:
    with pytest.raises(ConfigurationError, match=r"publisher_keys\['Acme'\].*should start with"):
        PermissionPolicy(trusted_publishers=("Acme",), publisher_keys={"Acme": ("not-a-key",)})
