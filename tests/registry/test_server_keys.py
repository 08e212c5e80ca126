"""The registry's own keys: rotation keeps old clients updating, a revoked key signs nothing they accept,
and a running server re-signs its timestamp before it expires."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from securesystemslib.signer import CryptoSigner
from tuf.api.exceptions import RepositoryError
from tuf.api.metadata import Metadata
from tuf.api.serialization.json import JSONSerializer

from symphony.registry import signing

from .conftest import RegistryServer, publish_wheel, run_symphony, start_registry_server, wait_for
from .tuf_client import updater
from .wheels import make_extension_wheel

pytestmark = pytest.mark.slow  # two servers of their own, and waits for a timestamp to age


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    running = start_registry_server(tmp_path_factory.mktemp("keys") / "index")
    yield running
    running.stop()


def _trusted_root_version(client_dir: Path) -> int:
    version: int = json.loads((client_dir / "metadata" / "root.json").read_text())["signed"]["version"]
    return version


def _key_file(server: RegistryServer, role: str) -> Path:
    (path,) = (server.dir / "keys").glob(f"{role}-*.pem")
    return path


def test_a_client_holding_the_old_root_updates_after_a_timestamp_key_rotation(
    server: RegistryServer, tmp_path: Path
) -> None:
    client = tmp_path / "client"
    updater(server.url, server.root, client).refresh()
    before = _trusted_root_version(client)
    run_symphony("registry", "keys", "rotate", server.dir, "timestamp")
    updater(server.url, server.root, client).refresh()
    assert _trusted_root_version(client) == before + 1


def test_a_new_client_with_the_first_root_follows_a_root_rotation(server: RegistryServer, tmp_path: Path) -> None:
    run_symphony("registry", "keys", "rotate", server.dir, "root")
    client = tmp_path / "client"
    updater(server.url, server.root, client).refresh()
    newest = max(int(path.name.split(".")[0]) for path in (server.dir / "tuf").glob("*.root.json"))
    assert _trusted_root_version(client) == newest


def test_targets_still_verify_after_the_bins_key_rotates(server: RegistryServer, tmp_path: Path) -> None:
    wheel = make_extension_wheel(
        tmp_path, distribution="rotated-bins", version="1.0.0", extension="rotated-bins", publisher="X"
    )
    publish_wheel(server, wheel)
    run_symphony("registry", "keys", "rotate", server.dir, "bins")
    client = updater(server.url, server.root, tmp_path / "client")
    client.refresh()
    assert client.get_targetinfo(f"packages/{wheel.name}") is not None


def test_a_rotated_key_file_is_deleted_and_the_new_one_is_0600(server: RegistryServer) -> None:
    old = _key_file(server, "snapshot")
    run_symphony("registry", "keys", "rotate", server.dir, "snapshot")
    new = _key_file(server, "snapshot")
    assert not old.exists()
    assert new.stat().st_mode & 0o777 == 0o600


def test_metadata_signed_with_a_revoked_key_is_refused_by_clients(server: RegistryServer, tmp_path: Path) -> None:
    stolen = CryptoSigner(signing.load_private_key(_key_file(server, "timestamp")))
    keyid = stolen.public_key.keyid
    result = run_symphony("registry", "keys", "revoke", server.dir, keyid[:12])
    assert f"Revoked {keyid[:16]} (timestamp)" in result.stdout
    client = tmp_path / "client"
    updater(server.url, server.root, client).refresh()
    timestamp_file = server.dir / "tuf" / "timestamp.json"
    genuine = timestamp_file.read_bytes()
    forged = Metadata.from_bytes(genuine)
    forged.signed.version += 10
    forged.sign(stolen)
    try:
        timestamp_file.write_bytes(forged.to_bytes(JSONSerializer()))
        with pytest.raises(RepositoryError):
            updater(server.url, server.root, client).refresh()
    finally:
        timestamp_file.write_bytes(genuine)


def test_revoking_an_unknown_key_id_says_so(server: RegistryServer) -> None:
    result = run_symphony("registry", "keys", "revoke", server.dir, "0000000000", check=False)
    assert result.returncode == 1
    assert "no role of this registry uses a key 0000000000" in result.stderr


def test_the_server_re_signs_the_timestamp_before_it_expires(tmp_path: Path) -> None:
    short = start_registry_server(tmp_path / "index", "--timestamp-expiry", "4")
    try:
        first = httpx.get(f"{short.url}tuf/timestamp.json").json()["signed"]
        wait_for(
            lambda: httpx.get(f"{short.url}tuf/timestamp.json").json()["signed"]["version"] > first["version"],
            what="a re-signed timestamp",
        )
        renewed = httpx.get(f"{short.url}tuf/timestamp.json").json()["signed"]
        assert renewed["expires"] > first["expires"]
    finally:
        short.stop()


def test_an_upload_larger_than_the_limit_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    small = start_registry_server(tmp_path / "index", "--max-upload", "4096")
    try:
        wheel = make_extension_wheel(
            tmp_path,
            distribution="big",
            version="1.0.0",
            extension="big",
            publisher="X",
            manifest="# " + "padding " * 4000 + "\n",
        )
        answer = httpx.post(
            small.url, data={":action": "file_upload"}, files={"content": (wheel.name, wheel.read_bytes())}
        )
        assert answer.status_code == 413
        assert "at most 4096 bytes" in answer.text
        assert list((small.dir / "packages").iterdir()) == []
    finally:
        small.stop()
        shutil.rmtree(tmp_path / "index", ignore_errors=True)
