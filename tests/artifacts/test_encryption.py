"""Encryption at rest: AES-256-GCM chunks under a key from the environment or an owner-only key file."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import pytest

from symphony.builtin_plugins.pit.artifacts.crypto import KEY_ENV, AesGcmSealer, load_key, make_sealer
from symphony.builtin_plugins.pit.artifacts.errors import ArtifactCorruptError, WrongKeyError
from symphony.builtin_plugins.pit.artifacts.sealing import PlainSealer
from symphony.hookspecs import ConfigurationError

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
CHUNK = b"a chunk of an artifact, sealed at rest " * 100


def encoded(key: bytes) -> str:
    return base64.b64encode(key).decode()


def key_file(tmp_path: Path, key: bytes, mode: int = 0o600) -> Path:
    path = tmp_path / "artifacts.key"
    path.write_text(encoded(key) + "\n")
    path.chmod(mode)
    return path


def test_a_sealed_chunk_opens_with_the_key_that_sealed_it() -> None:
    sealer = AesGcmSealer(KEY)
    chunk_id = sealer.chunk_id(CHUNK)
    assert AesGcmSealer(KEY).open(chunk_id, sealer.seal(chunk_id, CHUNK)) == CHUNK


def test_a_sealed_chunk_does_not_contain_its_plaintext_or_the_key() -> None:
    sealer = AesGcmSealer(KEY)
    sealed = sealer.seal(sealer.chunk_id(CHUNK), CHUNK)
    assert b"sealed at rest" not in sealed
    assert KEY not in sealed and encoded(KEY).encode() not in sealed


def test_sealing_twice_uses_fresh_nonces() -> None:
    sealer = AesGcmSealer(KEY)
    chunk_id = sealer.chunk_id(CHUNK)
    assert sealer.seal(chunk_id, CHUNK) != sealer.seal(chunk_id, CHUNK)


def test_chunk_ids_are_convergent_under_one_key_only() -> None:
    assert AesGcmSealer(KEY).chunk_id(CHUNK) == AesGcmSealer(KEY).chunk_id(CHUNK)
    assert AesGcmSealer(KEY).chunk_id(CHUNK) != AesGcmSealer(OTHER_KEY).chunk_id(CHUNK)


def test_chunk_ids_are_not_the_plain_sha256_of_the_chunk() -> None:
    assert AesGcmSealer(KEY).chunk_id(CHUNK) != PlainSealer().chunk_id(CHUNK)


def test_the_key_id_fingerprints_the_key_without_being_it() -> None:
    key_id = AesGcmSealer(KEY).key_id
    assert key_id == AesGcmSealer(KEY).key_id != AesGcmSealer(OTHER_KEY).key_id
    assert key_id is not None and bytes.fromhex(key_id) not in KEY


def test_a_wrong_key_is_refused_naming_both_key_ids() -> None:
    sealer, other = AesGcmSealer(KEY), AesGcmSealer(OTHER_KEY)
    chunk_id = sealer.chunk_id(CHUNK)
    with pytest.raises(WrongKeyError) as refused:
        other.open(chunk_id, sealer.seal(chunk_id, CHUNK))
    assert f"{sealer.key_id}" in refused.value.message and f"{other.key_id}" in refused.value.message
    assert "rekey" in refused.value.message


@pytest.mark.parametrize("where", ["nonce", "ciphertext", "tag"])
def test_a_flipped_byte_in_a_sealed_chunk_is_reported_as_corruption(where: str) -> None:
    sealer = AesGcmSealer(KEY)
    chunk_id = sealer.chunk_id(CHUNK)
    sealed = bytearray(sealer.seal(chunk_id, CHUNK))
    sealed[{"nonce": 10, "ciphertext": 100, "tag": -1}[where]] ^= 0x01
    with pytest.raises(ArtifactCorruptError, match=chunk_id):
        sealer.open(chunk_id, bytes(sealed))


def test_a_sealed_chunk_does_not_open_under_another_chunk_id() -> None:
    sealer = AesGcmSealer(KEY)
    sealed = sealer.seal(sealer.chunk_id(CHUNK), CHUNK)
    with pytest.raises(ArtifactCorruptError):
        sealer.open(sealer.chunk_id(b"another chunk"), sealed)


def test_a_truncated_sealed_chunk_is_reported_as_corruption() -> None:
    sealer = AesGcmSealer(KEY)
    with pytest.raises(ArtifactCorruptError, match="shorter than a seal"):
        sealer.open("ab" * 32, b"short")


def test_the_key_comes_from_a_key_file_only_its_owner_can_read(tmp_path: Path) -> None:
    assert load_key(key_file(tmp_path, KEY), {}) == KEY


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o644])
def test_a_key_file_open_to_group_or_others_is_refused_with_the_chmod_fix(tmp_path: Path, mode: int) -> None:
    path = key_file(tmp_path, KEY, mode)
    with pytest.raises(ConfigurationError, match=f"chmod 600 {path}") as refused:
        load_key(path, {})
    assert encoded(KEY) not in refused.value.message


def test_a_missing_key_file_is_a_configuration_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="key_file"):
        load_key(tmp_path / "absent.key", {})


@pytest.mark.parametrize("text", ["not base64!", encoded(b"sixteen bytes!!!")])
def test_a_key_that_is_not_32_base64_bytes_is_refused_with_how_to_make_one(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape("os.urandom(32)")) as refused:
        load_key(None, {KEY_ENV: text})
    assert text not in refused.value.message


def test_the_environment_key_wins_over_the_key_file(tmp_path: Path) -> None:
    assert load_key(key_file(tmp_path, KEY), {KEY_ENV: encoded(OTHER_KEY)}) == OTHER_KEY


def test_no_key_configured_is_no_key() -> None:
    assert load_key(None, {}) is None


def test_encryption_without_a_key_is_refused_rather_than_storing_plaintext() -> None:
    with pytest.raises(ConfigurationError, match=KEY_ENV):
        make_sealer("aes-256-gcm", None, {})


def test_encryption_none_seals_nothing() -> None:
    assert isinstance(make_sealer("none", None, {KEY_ENV: encoded(KEY)}), PlainSealer)


def test_an_unknown_encryption_is_refused_naming_the_choices() -> None:
    with pytest.raises(ConfigurationError, match="'none' or 'aes-256-gcm'"):
        make_sealer("rot13", None, {})


def test_encryption_with_the_environment_key_seals_under_it() -> None:
    sealer = make_sealer("aes-256-gcm", None, {KEY_ENV: encoded(KEY)})
    assert sealer.key_id == AesGcmSealer(KEY).key_id


def test_a_key_file_of_another_user_is_refused(tmp_path: Path) -> None:
    path = key_file(tmp_path, KEY)
    os.chown(path, os.geteuid() + 1, -1)
    with pytest.raises(ConfigurationError, match="chown"):
        load_key(path, {})
