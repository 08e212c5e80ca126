"""AES-256-GCM sealing of chunks at rest, with convergent (keyed HMAC) chunk ids so deduplication survives.

One master key (32 random bytes, from ``SYMPHONY_ARTIFACTS_KEY`` or a key file only its owner can read)
is stretched by HKDF into three independent keys: the AEAD key, the HMAC key naming chunks, and a key
fingerprint (the key id) stored beside each sealed chunk and pack so a wrong key is told apart from damage.
Sealed chunk: ``key id (8) | nonce (12) | ciphertext | tag (16)``, the chunk id bound as associated data.
Sealing encrypts into one buffer holding the header too (``encrypt_into``: no concatenation copy), and reads
decrypt straight into the object's buffer (``decrypt_into``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from symphony.hookspecs import ConfigurationError

from .errors import ArtifactCorruptError, WrongKeyError
from .options import Encryption
from .sealing import Bytes, PlainSealer, Sealer

__all__ = ["KEY_ENV", "OLD_KEY_ENV", "AesGcmSealer", "Encryption", "load_key", "make_sealer", "previous_sealer"]

KEY_ENV = "SYMPHONY_ARTIFACTS_KEY"
OLD_KEY_ENV = "SYMPHONY_ARTIFACTS_OLD_KEY"
_KEY_ID_LEN, _NONCE_LEN, _TAG_LEN = 8, 12, 16
_HEADER = _KEY_ID_LEN + _NONCE_LEN
_GENERATE = "python -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())'"


def _derive(master: bytes, purpose: bytes, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=b"symphony artifacts " + purpose).derive(
        master
    )


class AesGcmSealer:
    """Seals chunks under one master key; equal chunks get equal ids under that key, and only under it."""

    name = "aes-256-gcm"

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ConfigurationError(f"An artifact encryption key is 32 bytes, not {len(master_key)}.")
        self._aead = AESGCM(_derive(master_key, b"aead"))
        self._id_key = _derive(master_key, b"chunk id")
        self._key_id_raw = _derive(master_key, b"key id", _KEY_ID_LEN)
        self.key_id: str | None = self._key_id_raw.hex()

    def chunk_id(self, data: Bytes) -> str:
        return hmac.digest(self._id_key, data, "sha256").hex()

    def seal(self, chunk_id: str, data: Bytes) -> Bytes:
        nonce = os.urandom(_NONCE_LEN)
        sealed = bytearray(_HEADER + len(data) + _TAG_LEN)
        sealed[:_KEY_ID_LEN], sealed[_KEY_ID_LEN:_HEADER] = self._key_id_raw, nonce
        self._aead.encrypt_into(nonce, data, chunk_id.encode(), memoryview(sealed)[_HEADER:])
        return memoryview(sealed).toreadonly()

    def open(self, chunk_id: str, sealed: bytes) -> bytes:
        self._check(chunk_id, sealed)
        try:
            return self._aead.decrypt(sealed[_KEY_ID_LEN:_HEADER], memoryview(sealed)[_HEADER:], chunk_id.encode())
        except InvalidTag:
            raise ArtifactCorruptError(f"chunk {chunk_id}", "its AES-GCM tag check") from None

    def open_into(self, chunk_id: str, sealed: memoryview, out: memoryview) -> None:
        self._check(chunk_id, sealed)
        if len(sealed) - _HEADER - _TAG_LEN != len(out):
            raise ArtifactCorruptError(f"chunk {chunk_id}", f"{len(sealed)} sealed bytes for {len(out)} plain ones")
        try:
            self._aead.decrypt_into(sealed[_KEY_ID_LEN:_HEADER], sealed[_HEADER:], chunk_id.encode(), out)
        except InvalidTag:
            raise ArtifactCorruptError(f"chunk {chunk_id}", "its AES-GCM tag check") from None

    def _check(self, chunk_id: str, sealed: Bytes) -> None:
        """Refuse what is too short to be sealed, and what another key sealed (not damage: a configuration error)."""
        if len(sealed) < _HEADER + _TAG_LEN:
            raise ArtifactCorruptError(f"chunk {chunk_id}", f"{len(sealed)} bytes, shorter than a seal")
        sealed_by = bytes(sealed[:_KEY_ID_LEN])
        if sealed_by != self._key_id_raw:
            raise WrongKeyError(
                f"Stored data {chunk_id} was sealed with key id {sealed_by.hex()},"
                f" but the configured key has id {self.key_id}."
                f" Set {KEY_ENV} or [components.artifacts.options] key_file to the key that sealed the store,"
                " or move the store to a new key with `symphony artifacts rekey`."
            )


def _parse_key(text: bytes, source: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        key = b""
    if len(key) != 32:
        raise ConfigurationError(f"{source} is not a base64-encoded 32-byte key. Generate one with: {_GENERATE}")
    return key


def _read_key_file(path: Path) -> bytes:
    try:
        info = path.stat()
    except OSError as error:
        raise ConfigurationError(
            f"Cannot read the artifact key file {path}: {error.strerror}. Fix [components.artifacts.options] key_file."
        ) from None
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise ConfigurationError(
            f"The artifact key file {path} is accessible to group or others (mode {stat.S_IMODE(info.st_mode):04o});"
            f" it is refused. Run: chmod 600 {path}"
        )
    if info.st_uid != os.geteuid():
        raise ConfigurationError(
            f"The artifact key file {path} belongs to uid {info.st_uid}, not to this user (uid {os.geteuid()});"
            f" it is refused. Run: chown {os.geteuid()} {path}"
        )
    return _parse_key(path.read_bytes(), f"The artifact key file {path}")


def load_key(key_file: Path | None, environ: Mapping[str, str], variable: str = KEY_ENV) -> bytes | None:
    """The master key: the environment wins over the key file, so a deployment can override a default file."""
    if value := environ.get(variable):
        return _parse_key(value.encode(), f"The environment variable {variable}")
    return None if key_file is None else _read_key_file(key_file)


def previous_sealer(key_file: Path | None, environ: Mapping[str, str]) -> AesGcmSealer | None:
    """The key a store is rotated away from (``SYMPHONY_ARTIFACTS_OLD_KEY`` or a key file), for ``rekey``."""
    key = load_key(key_file, environ, OLD_KEY_ENV)
    return None if key is None else AesGcmSealer(key)


def make_sealer(encryption: Encryption, key_file: Path | None, environ: Mapping[str, str]) -> Sealer:
    """The sealer the options ask for, refusing encryption without a key rather than storing plaintext."""
    if encryption == "none":
        return PlainSealer()
    key = load_key(key_file, environ)
    if key is None:
        raise ConfigurationError(
            f"[components.artifacts.options] encryption = {AesGcmSealer.name!r} needs a key: set {KEY_ENV}"
            f" or key_file to a base64-encoded 32-byte key (generate one with: {_GENERATE})."
        )
    return AesGcmSealer(key)
