"""Publisher signatures: what a publisher signs about a release, and how anyone checks it.

``symphony ext publish`` signs; the registry checks at upload and again at
install; the host checks once more before it trusts a publisher's extension
to run in-process.  One encoding for all three, so a signature means the
same thing everywhere: the statement's canonical JSON (keys sorted, no
spaces) signed with the publisher's Ed25519 key.

Keys are written ``ed25519:<base64url of the 32 raw bytes, no padding>``, the
form distribution policies (``permissions.publisher_keys``) and the registry's
``publishers.json`` use.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection
from typing import Final

import msgspec

from ._base import Base
from ._exceptions import VerificationError

__all__ = [
    "SIGNATURE_TYPE",
    "VERIFICATION_FILE",
    "PublisherSignature",
    "ReleaseStatement",
    "key_id",
    "parse_public_key",
    "statement_bytes",
    "verify_signature",
]

#: The statement's ``type``: a signature over anything else is not a release signature.
SIGNATURE_TYPE: Final = "symphony-publisher-signature/v1"
#: Written into an installed distribution's ``.dist-info`` by a verified install (a PublisherSignature).
VERIFICATION_FILE: Final = "symphony-verification.json"
_KEY_PREFIX: Final = "ed25519:"


class ReleaseStatement(Base, frozen=True):
    """What a publisher vouches for: this wheel, with this manifest, is their release."""

    publisher: str
    distribution: str  # normalised (packaging.utils.canonicalize_name)
    version: str
    filename: str
    sha256: str  # hex digest of the wheel file
    manifest_sha256: str  # hex digest of symphony-extension.toml's bytes inside the wheel
    type: str = SIGNATURE_TYPE


class PublisherSignature(Base, frozen=True):
    """A statement, the public key that signed it, and the signature (base64url, no padding)."""

    statement: ReleaseStatement
    key: str
    signature: str


def statement_bytes(statement: ReleaseStatement) -> bytes:
    """The exact bytes that are signed: canonical JSON of the statement."""
    return msgspec.json.encode(msgspec.to_builtins(statement), order="sorted")


def _unpadded_b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise VerificationError(f"{what} {text!r} is not base64url") from None


def parse_public_key(text: str) -> bytes:
    """The 32 raw bytes of an ``ed25519:...`` key; VerificationError saying what is wrong otherwise."""
    if not text.startswith(_KEY_PREFIX):
        raise VerificationError(f"public key {text!r} should start with {_KEY_PREFIX!r} (an Ed25519 key)")
    raw = _unpadded_b64decode(text[len(_KEY_PREFIX) :], "public key")
    if len(raw) != 32:
        raise VerificationError(f"public key {text!r} has {len(raw)} bytes; an Ed25519 key has 32")
    return raw


def key_id(text: str) -> str:
    """A short, stable name for a key: the first 16 hex digits of the SHA-256 of its raw bytes."""
    import hashlib  # loads OpenSSL (~3 ms): not for every command that imports the SDK

    return hashlib.sha256(parse_public_key(text)).hexdigest()[:16]


def verify_signature(signature: PublisherSignature, keys: Collection[str]) -> None:
    """Check that one of ``keys`` signed ``signature.statement``; VerificationError saying why not.

    Only the statement is checked here; that it describes the file at hand
    (its SHA-256, its manifest) is the caller's comparison.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    publisher = signature.statement.publisher
    if signature.statement.type != SIGNATURE_TYPE:
        raise VerificationError(f"the signed statement is a {signature.statement.type!r}, not a {SIGNATURE_TYPE!r}")
    if signature.key not in keys:
        known = ", ".join(key_id(key) for key in keys) or "none"
        raise VerificationError(
            f"{signature.statement.filename} is signed with key {key_id(signature.key)}, which is not a key of "
            f"publisher {publisher!r} (their keys: {known})"
        )
    public = Ed25519PublicKey.from_public_bytes(parse_public_key(signature.key))
    try:
        public.verify(_unpadded_b64decode(signature.signature, "signature"), statement_bytes(signature.statement))
    except InvalidSignature:
        raise VerificationError(
            f"the signature on {signature.statement.filename} does not match its statement: "
            f"it was altered after {publisher!r} signed it"
        ) from None
