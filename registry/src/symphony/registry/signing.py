"""Publisher keys: make one, keep it private, and sign a release statement with it.

A publisher's private key is a PEM (PKCS#8) Ed25519 key in a 0600 file; the
public half is written ``ed25519:<base64url>``, the form ``publishers.json``
and distribution policies use.  The statement and its encoding are the SDK's
(:func:`symphony.hookspecs.statement_bytes`), so what is signed here is what
the registry and the host check.
"""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from symphony.hookspecs import PublisherSignature, RegistryError, ReleaseStatement, statement_bytes

__all__ = ["generate_key", "load_private_key", "private_pem", "public_text", "save_private_key", "sign"]

#: A PEM Ed25519 key is ~120 bytes; anything far larger is not one.
_MAX_KEY_FILE = 64 * 1024


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def generate_key() -> Ed25519PrivateKey:
    """A new Ed25519 private key."""
    return Ed25519PrivateKey.generate()


def public_text(key: Ed25519PrivateKey) -> str:
    """The public half as ``ed25519:<base64url of the 32 raw bytes>``."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + _b64url(raw)


def private_pem(key: Ed25519PrivateKey) -> bytes:
    """The unencrypted PKCS#8 PEM of ``key`` (the file's content)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def save_private_key(key: Ed25519PrivateKey, path: Path) -> None:
    """Write ``key`` to ``path`` as a 0600 PEM file, never replacing an existing file.

    The key is written to a temporary file and hard-linked into place, so
    ``path`` either does not exist or holds the whole key, and an existing key
    (perhaps the only copy of a publisher's identity) is never overwritten.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp: 0600
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(private_pem(key))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            raise RegistryError(
                f"{path} already exists; a key is never overwritten (move it away first, or choose another path)"
            ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 key in the PEM file ``path``; RegistryError saying what is wrong otherwise."""
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_KEY_FILE + 1)
    except FileNotFoundError:
        raise RegistryError(f"no key file at {path} (create one with `symphony ext keygen {path}`)") from None
    except OSError as error:
        raise RegistryError(f"cannot read key file {path}: {error.strerror}") from None
    if len(data) > _MAX_KEY_FILE:
        raise RegistryError(f"{path} is larger than {_MAX_KEY_FILE} bytes: not a PEM private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise RegistryError(f"{path} is not an unencrypted PEM private key: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise RegistryError(f"{path} holds a {type(key).__name__}; publisher keys are Ed25519")
    return key


def sign(key: Ed25519PrivateKey, statement: ReleaseStatement) -> PublisherSignature:
    """Sign ``statement`` with ``key``: the signature the registry and the host verify."""
    return PublisherSignature(
        statement=statement, key=public_text(key), signature=_b64url(key.sign(statement_bytes(statement)))
    )
