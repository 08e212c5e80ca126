"""Encryption at rest: AES-256-GCM chunks under a key from the environment or an owner-only key file."""

from __future__ import annotations

import base64
import os
import random
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from symphony.builtin_plugins.pit.artifacts import ArtifactStore, StoreOptions
from symphony.builtin_plugins.pit.artifacts.backend import LocalBackend
from symphony.builtin_plugins.pit.artifacts.crypto import (
    KEY_ENV,
    OLD_KEY_ENV,
    AesGcmSealer,
    load_key,
    make_sealer,
    previous_sealer,
)
from symphony.builtin_plugins.pit.artifacts.errors import ArtifactCorruptError, WrongKeyError
from symphony.builtin_plugins.pit.artifacts.rekey import rekey
from symphony.builtin_plugins.pit.artifacts.sealing import PlainSealer
from symphony.hookspecs import ConfigurationError

if TYPE_CHECKING:
    from tests.conftest import Symphony

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
    assert AesGcmSealer(KEY).open(chunk_id, bytes(sealer.seal(chunk_id, CHUNK))) == CHUNK


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
        other.open(chunk_id, bytes(sealer.seal(chunk_id, CHUNK)))
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
    sealed = bytes(sealer.seal(sealer.chunk_id(CHUNK), CHUNK))
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


def test_encryption_with_the_environment_key_seals_under_it() -> None:
    sealer = make_sealer("aes-256-gcm", None, {KEY_ENV: encoded(KEY)})
    assert sealer.key_id == AesGcmSealer(KEY).key_id


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_a_key_file_of_another_user_is_refused(tmp_path: Path) -> None:
    path = key_file(tmp_path, KEY)
    os.chown(path, os.geteuid() + 1, -1)
    with pytest.raises(ConfigurationError, match="chown"):
        load_key(path, {})


# -- the store, sealed --------------------------------------------------------------------------------------------

TEXT = b"".join(b"line %d of a confidential report, sealed at rest\n" % n for n in range(20_000))
SMALL = b"a confidential note, too small to chunk"
SMALL_OPTIONS = StoreOptions(pack_size=64 * 1024)  # several packs from one object


def open_store(root: Path, key: bytes | None, options: StoreOptions = SMALL_OPTIONS) -> ArtifactStore:
    return ArtifactStore(root, options, sealer=PlainSealer() if key is None else AesGcmSealer(key))


def stored_bytes(root: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file())


def pack_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.pack"))


def test_an_encrypted_store_returns_what_was_stored_under_the_same_key(tmp_path: Path) -> None:
    artifact_id = open_store(tmp_path, KEY).put_sync(TEXT)
    assert open_store(tmp_path, KEY).get_sync(artifact_id) == TEXT


def test_an_encrypted_store_streams_what_was_stored(tmp_path: Path) -> None:
    store = open_store(tmp_path, KEY)
    assert b"".join(store.iter_sync(store.put_sync(TEXT))) == TEXT


def test_an_encrypted_store_opened_with_a_wrong_key_refuses_naming_the_key_ids(tmp_path: Path) -> None:
    artifact_id = open_store(tmp_path, KEY).put_sync(TEXT)
    with pytest.raises(WrongKeyError) as refused:
        open_store(tmp_path, OTHER_KEY).get_sync(artifact_id)
    assert f"{AesGcmSealer(KEY).key_id}" in refused.value.message
    assert f"{AesGcmSealer(OTHER_KEY).key_id}" in refused.value.message


def test_a_flipped_byte_in_a_sealed_pack_on_disk_is_detected(tmp_path: Path) -> None:
    store = open_store(tmp_path, KEY)
    artifact_id = store.put_sync(TEXT)
    pack = pack_files(tmp_path)[0]
    damaged = bytearray(pack.read_bytes())
    damaged[-100] ^= 0x01
    pack.write_bytes(bytes(damaged))
    with pytest.raises(ArtifactCorruptError):
        store.get_sync(artifact_id)


@pytest.mark.parametrize("content", [TEXT, SMALL], ids=["chunked", "inline"])
def test_the_store_files_hold_neither_the_key_nor_the_plaintext(tmp_path: Path, content: bytes) -> None:
    open_store(tmp_path, KEY).put_sync(content, {"type": "text/plain"})
    on_disk = stored_bytes(tmp_path)
    assert KEY not in on_disk and encoded(KEY).encode() not in on_disk
    assert b"confidential" not in on_disk


def test_deduplication_still_works_under_one_key(tmp_path: Path) -> None:
    store = open_store(tmp_path, KEY)
    store.put_sync(TEXT)
    before = store.stats().stored_bytes
    store.put_sync(TEXT.replace(b"line 10000 of", b"line 10000 (edited) of"))
    assert store.stats().stored_bytes - before < len(TEXT) // 10


# -- rotation -----------------------------------------------------------------------------------------------------


def test_rekey_moves_every_chunk_under_the_new_key(tmp_path: Path) -> None:
    ids = [open_store(tmp_path, KEY).put_sync(content) for content in (TEXT, SMALL, TEXT[:50_000])]
    store = open_store(tmp_path, OTHER_KEY)
    report = rekey(store, [AesGcmSealer(KEY)])
    assert report.packs > 1 and report.key_id == AesGcmSealer(OTHER_KEY).key_id
    assert [store.get_sync(artifact_id) for artifact_id in ids] == [TEXT, SMALL, TEXT[:50_000]]


def test_after_rekey_the_old_key_no_longer_opens_the_store(tmp_path: Path) -> None:
    artifact_id = open_store(tmp_path, KEY).put_sync(TEXT)
    rekey(open_store(tmp_path, OTHER_KEY), [AesGcmSealer(KEY)])
    with pytest.raises(WrongKeyError):
        open_store(tmp_path, KEY).get_sync(artifact_id)


def test_the_old_key_for_rekey_comes_from_its_own_variable_or_key_file(tmp_path: Path) -> None:
    from_env = previous_sealer(None, {OLD_KEY_ENV: encoded(KEY), KEY_ENV: encoded(OTHER_KEY)})
    from_file = previous_sealer(key_file(tmp_path, KEY), {KEY_ENV: encoded(OTHER_KEY)})
    assert from_env is not None and from_file is not None
    assert from_env.key_id == from_file.key_id == AesGcmSealer(KEY).key_id
    assert previous_sealer(None, {KEY_ENV: encoded(KEY)}) is None


def test_a_loose_old_key_file_is_refused_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="chmod 600"):
        previous_sealer(key_file(tmp_path, KEY, 0o644), {})


def test_rekey_removes_the_old_packs(tmp_path: Path) -> None:
    open_store(tmp_path, KEY).put_sync(TEXT)
    old = set(pack_files(tmp_path))
    rekey(open_store(tmp_path, OTHER_KEY), [AesGcmSealer(KEY)])
    assert old.isdisjoint(pack_files(tmp_path)) and pack_files(tmp_path)


def test_rekey_without_the_old_key_refuses_before_changing_anything(tmp_path: Path) -> None:
    artifact_id = open_store(tmp_path, KEY).put_sync(TEXT)
    old = pack_files(tmp_path)
    with pytest.raises(WrongKeyError, match="rekey"):
        rekey(open_store(tmp_path, OTHER_KEY), [])
    assert pack_files(tmp_path) == old
    assert open_store(tmp_path, KEY).get_sync(artifact_id) == TEXT


def test_rekey_encrypts_a_plain_store(tmp_path: Path) -> None:
    artifact_id = open_store(tmp_path, None).put_sync(TEXT)
    store = open_store(tmp_path, KEY)
    rekey(store, [])
    assert b"confidential" not in b"".join(path.read_bytes() for path in pack_files(tmp_path))
    assert store.get_sync(artifact_id) == TEXT


def test_rekey_to_no_encryption_decrypts_the_store(tmp_path: Path) -> None:
    ids = [open_store(tmp_path, KEY).put_sync(content) for content in (TEXT, SMALL)]
    rekey(open_store(tmp_path, None), [AesGcmSealer(KEY)])
    assert [open_store(tmp_path, None).get_sync(artifact_id) for artifact_id in ids] == [TEXT, SMALL]


def test_rekey_keeps_deduplication_across_objects(tmp_path: Path) -> None:
    old = open_store(tmp_path, KEY)
    old.put_sync(TEXT)
    old.put_sync(TEXT + b"one more line\n")
    chunks = old.stats().chunks
    store = open_store(tmp_path, OTHER_KEY)
    rekey(store, [AesGcmSealer(KEY)])
    assert store.stats().chunks == chunks


class FailingWrites:
    """A local backend whose pack writes fail after ``allowed`` of them, as if the process died there."""

    def __init__(self, root: Path, allowed: int) -> None:
        self._inner, self._allowed, self.name = LocalBackend(root), allowed, "local"

    def write(self, key: str, chunks: Iterable[bytes | memoryview]) -> None:
        if self._allowed == 0:
            raise OSError("the disk went away")
        self._allowed -= 1
        self._inner.write(key, chunks)

    def read(self, key: str, offset: int = 0, length: int | None = None) -> bytes:
        return self._inner.read(key, offset, length)

    def read_into(self, key: str, offset: int, into: memoryview) -> int:
        return self._inner.read_into(key, offset, into)

    def exists(self, key: str) -> bool:
        return self._inner.exists(key)

    def delete(self, key: str) -> None:
        self._inner.delete(key)

    def keys(self, prefix: str) -> Iterator[str]:
        return self._inner.keys(prefix)


def test_an_interrupted_rekey_leaves_a_readable_store_and_a_rerun_finishes_it(tmp_path: Path) -> None:
    ids = [open_store(tmp_path, KEY).put_sync(content) for content in (TEXT, TEXT[:50_000] + b"!")]
    interrupted = ArtifactStore(
        tmp_path, SMALL_OPTIONS, backend=FailingWrites(tmp_path, 2), sealer=AesGcmSealer(OTHER_KEY)
    )
    with pytest.raises(OSError):
        rekey(interrupted, [AesGcmSealer(KEY)])
    store = open_store(tmp_path, OTHER_KEY)
    assert rekey(store, [AesGcmSealer(KEY)]).packs > 0
    assert [store.get_sync(artifact_id) for artifact_id in ids] == [TEXT, TEXT[:50_000] + b"!"]
    assert rekey(store, [AesGcmSealer(KEY)]).packs == 0


# -- configured through [components.artifacts.options], through the real command ---------------------------------


def encrypted_cli(symphony: Callable[..., Symphony], key_file: Path | None = None) -> Symphony:
    cli: Symphony = symphony()
    cli.home.mkdir(parents=True)
    options = 'encryption = "aes-256-gcm"\n' + (f'key_file = "{key_file}"\n' if key_file else "")
    (cli.home / "symphony.toml").write_text(f"[components.artifacts.options]\n{options}")
    return cli


def put_report(cli: Symphony, tmp_path: Path, key: bytes | None = None) -> str:
    """``symphony artifacts put`` of SMALL, with ``key`` in the environment; the artifact id."""
    source = tmp_path / "report.txt"
    source.write_bytes(SMALL)
    artifact_id: str = cli.json("artifacts", "put", str(source), env={KEY_ENV: encoded(key)} if key else None)[
        "artifact_id"
    ]
    return artifact_id


def test_the_command_seals_with_the_environment_key_and_opens_with_it(
    symphony: Callable[..., Symphony], tmp_path: Path
) -> None:
    cli = encrypted_cli(symphony)
    artifact_id = put_report(cli, tmp_path, KEY)
    assert b"confidential" not in stored_bytes(cli.data_dir)
    got = cli.run("artifacts", "get", artifact_id, "-o", str(tmp_path / "out"), env={KEY_ENV: encoded(KEY)})
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "out").read_bytes() == SMALL


def test_the_command_with_a_wrong_key_says_so_without_a_traceback(
    symphony: Callable[..., Symphony], tmp_path: Path
) -> None:
    cli = encrypted_cli(symphony)
    artifact_id = put_report(cli, tmp_path, KEY)
    got = cli.run("artifacts", "get", artifact_id, "-o", str(tmp_path / "out"), env={KEY_ENV: encoded(OTHER_KEY)})
    assert got.returncode != 0 and "Traceback" not in got.stderr
    assert f"sealed with key id {AesGcmSealer(KEY).key_id}" in got.stderr
    assert not (tmp_path / "out").exists()


def test_the_command_refuses_a_loose_key_file_with_the_chmod_fix(
    symphony: Callable[..., Symphony], tmp_path: Path
) -> None:
    path = key_file(tmp_path, KEY, 0o644)
    cli, source = encrypted_cli(symphony, path), tmp_path / "report.txt"
    source.write_bytes(SMALL)
    got = cli.run("artifacts", "put", str(source))
    assert got.returncode != 0 and "Traceback" not in got.stderr
    assert f"chmod 600 {path}" in got.stderr and encoded(KEY) not in got.stderr + got.stdout


def test_the_command_reads_the_key_from_an_owner_only_key_file(
    symphony: Callable[..., Symphony], tmp_path: Path
) -> None:
    cli = encrypted_cli(symphony, key_file(tmp_path, KEY))
    artifact_id = put_report(cli, tmp_path)
    with pytest.raises(WrongKeyError):
        open_store(cli.data_dir / "artifacts", OTHER_KEY).get_sync(artifact_id)
    assert open_store(cli.data_dir / "artifacts", KEY).get_sync(artifact_id) == SMALL


def test_an_unknown_encryption_option_is_refused_naming_the_key() -> None:
    with pytest.raises(ConfigurationError, match=r"components\.artifacts\.options\.encryption"):
        StoreOptions.from_options({"encryption": "rot13"})


async def test_an_encrypted_store_indexes_metadata_but_not_the_sealed_text(tmp_path: Path) -> None:
    store = open_store(tmp_path, KEY)
    await store.put(TEXT, {"type": "text/plain", "name": "quarterly"})
    assert [info.metadata["name"] for info in await store.search("quarterly")] == ["quarterly"]
    assert await store.search("confidential") == []


# Re-seals a store of many small packs under OTHER_KEY, printing after each pack it finished.
_REKEYER = """
import sys
from pathlib import Path
from symphony.builtin_plugins.pit.artifacts import ArtifactStore, StoreOptions
from symphony.builtin_plugins.pit.artifacts.crypto import AesGcmSealer
from symphony.builtin_plugins.pit.artifacts.rekey import rekey

store = ArtifactStore(Path(sys.argv[1]), StoreOptions(pack_size=65536), sealer=AesGcmSealer(bytes(range(1, 33))))
rekey(store, [AesGcmSealer(bytes(range(32)))], lambda done, total: print(done, total, flush=True))
"""


@pytest.mark.slow
@pytest.mark.parametrize("packs_done", [1, 7])
def test_a_rekey_killed_mid_run_leaves_a_clean_store_and_a_rerun_finishes_it(tmp_path: Path, packs_done: int) -> None:
    contents = [random.Random(seed).randbytes(400_000) for seed in range(6)]
    ids = [open_store(tmp_path, KEY).put_sync(content) for content in contents]
    rekeyer = subprocess.Popen([sys.executable, "-c", _REKEYER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert rekeyer.stdout is not None
    for _ in range(packs_done):
        done, total = map(int, rekeyer.stdout.readline().split())
    rekeyer.send_signal(signal.SIGKILL)
    rekeyer.wait()
    assert rekeyer.returncode == -signal.SIGKILL and done < total
    store = open_store(tmp_path, OTHER_KEY)
    assert rekey(store, [AesGcmSealer(KEY)]).packs > 0
    assert store.verify() == []
    assert [store.get_sync(artifact_id) for artifact_id in ids] == contents
