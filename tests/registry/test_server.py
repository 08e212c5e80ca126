"""The index server against a real TUF client: uploads become signed targets, signatures checked, bad input refused."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import httpx
import pytest
from tuf.api.exceptions import LengthOrHashMismatchError

from symphony.registry import signing
from symphony.registry.server.app import MAX_SIGNATURE
from symphony.registry.server.repository import BINS

from .conftest import Publisher, RegistryServer, make_publisher, post_signature, publish_wheel, upload_wheel
from .tuf_client import release, updater
from .wheels import make_extension_wheel


def _wheel(directory: Path, distribution: str, version: str = "1.0.0", **options: object) -> Path:
    settings: dict[str, object] = {"extension": distribution, "publisher": "Acme Labs"}
    settings.update(options)
    return make_extension_wheel(directory, distribution=distribution, version=version, **settings)  # type: ignore[arg-type]


def _packages(server: RegistryServer) -> set[str]:
    return {path.name for path in (server.dir / "packages").iterdir()}


def test_the_server_serves_a_pep_503_index_and_the_tuf_metadata(registry_server: RegistryServer) -> None:
    assert httpx.get(f"{registry_server.url}simple/").status_code == 200
    timestamp = httpx.get(f"{registry_server.url}tuf/timestamp.json").json()
    assert timestamp["signed"]["_type"] == "timestamp"


def test_an_uploaded_wheel_becomes_a_target_with_its_hash(registry_server: RegistryServer, tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "acme-hashed")
    publish_wheel(registry_server, wheel)
    client = updater(registry_server.url, registry_server.root, tmp_path / "client")
    client.refresh()
    info = client.get_targetinfo(f"packages/{wheel.name}")
    assert info is not None
    assert info.hashes == {"sha256": hashlib.sha256(wheel.read_bytes()).hexdigest()}
    assert info.length == wheel.stat().st_size


def test_an_uploaded_wheel_is_in_the_bin_its_path_hashes_to(registry_server: RegistryServer, tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "acme-binned")
    publish_wheel(registry_server, wheel)
    role = BINS.get_role_for_target(f"packages/{wheel.name}")
    snapshot = json.loads(httpx.get(f"{registry_server.url}tuf/timestamp.json").content)
    version = snapshot["signed"]["meta"]["snapshot.json"]["version"]
    meta = httpx.get(f"{registry_server.url}tuf/{version}.snapshot.json").json()["signed"]["meta"]
    document = httpx.get(f"{registry_server.url}tuf/{meta[f'{role}.json']['version']}.{role}.json").json()
    assert f"packages/{wheel.name}" in document["signed"]["targets"]


def test_a_target_downloads_and_verifies_through_tuf(registry_server: RegistryServer, tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "acme-download")
    publish_wheel(registry_server, wheel)
    client = updater(registry_server.url, registry_server.root, tmp_path / "client")
    client.refresh()
    info = client.get_targetinfo(f"packages/{wheel.name}")
    assert info is not None
    assert Path(client.download_target(info)).read_bytes() == wheel.read_bytes()


def test_the_release_metadata_carries_the_manifest(registry_server: RegistryServer, tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "acme-manifest", capabilities={"network_access": ["example.org"]})
    publish_wheel(registry_server, wheel)
    metadata = release(updater(registry_server.url, registry_server.root, tmp_path / "c"), wheel.name)
    assert metadata is not None
    assert (metadata.distribution, metadata.version, metadata.extension) == ("acme-manifest", "1.0.0", "acme-manifest")
    assert metadata.manifest is not None
    assert metadata.manifest["capabilities"] == {"network_access": ["example.org"]}
    assert metadata.signature is None


def test_a_valid_signature_is_attached_to_its_release(
    registry_server: RegistryServer, publisher: Publisher, tmp_path: Path
) -> None:
    wheel = _wheel(tmp_path, "acme-signed")
    publish_wheel(registry_server, wheel, publisher)
    metadata = release(updater(registry_server.url, registry_server.root, tmp_path / "c"), wheel.name)
    assert metadata is not None and metadata.signature is not None
    assert metadata.signature.key == publisher.public


def test_a_signature_posted_before_its_wheel_is_attached_when_the_wheel_arrives(
    registry_server: RegistryServer, publisher: Publisher, tmp_path: Path
) -> None:
    wheel = _wheel(tmp_path, "acme-early")
    answer = post_signature(registry_server, publisher.sign(wheel))
    assert answer.status_code == 202, answer.text
    publish_wheel(registry_server, wheel)
    metadata = release(updater(registry_server.url, registry_server.root, tmp_path / "c"), wheel.name)
    assert metadata is not None and metadata.signature is not None


def test_a_signature_by_a_key_the_publisher_does_not_have_is_refused(
    registry_server: RegistryServer, publisher: Publisher, tmp_path: Path
) -> None:
    wheel = _wheel(tmp_path, "acme-wrongkey")
    publish_wheel(registry_server, wheel)
    stranger = make_publisher(tmp_path, "Acme Labs")
    answer = post_signature(registry_server, stranger.sign(wheel))
    assert answer.status_code == 403
    assert "is not a key of publisher 'Acme Labs'" in answer.text
    metadata = release(updater(registry_server.url, registry_server.root, tmp_path / "c"), wheel.name)
    assert metadata is not None and metadata.signature is None


def test_a_signature_by_a_revoked_key_is_refused(registry_server: RegistryServer, tmp_path: Path) -> None:
    old = make_publisher(tmp_path, "Revoking Labs")
    repository = registry_server.repository()
    repository.add_publisher_key(old.name, old.public)
    repository.revoke_publisher_key(old.name, old.public)
    wheel = _wheel(tmp_path, "revoking-ext", publisher="Revoking Labs")
    publish_wheel(registry_server, wheel)
    answer = post_signature(registry_server, old.sign(wheel))
    assert answer.status_code == 403
    assert "was revoked" in answer.text


def test_a_signature_by_a_publisher_the_manifest_does_not_name_is_refused(
    registry_server: RegistryServer, publisher: Publisher, tmp_path: Path
) -> None:
    wheel = _wheel(tmp_path, "squat-ext", publisher="Someone Else")
    publish_wheel(registry_server, wheel)
    answer = post_signature(registry_server, publisher.sign(wheel))
    assert answer.status_code == 403
    assert "names publisher 'Someone Else', but the signature is by 'Acme Labs'" in answer.text


def test_a_signature_from_an_unregistered_publisher_says_how_to_register(
    registry_server: RegistryServer, tmp_path: Path
) -> None:
    nobody = make_publisher(tmp_path, "Nobody Ltd")
    wheel = _wheel(tmp_path, "nobody-ext", publisher="Nobody Ltd")
    answer = post_signature(registry_server, nobody.sign(wheel))
    assert answer.status_code == 403
    assert "symphony registry publisher add" in answer.text


def test_a_signature_for_another_file_is_refused(
    registry_server: RegistryServer, publisher: Publisher, tmp_path: Path
) -> None:
    uploaded = _wheel(tmp_path / "a", "acme-swapped")
    publish_wheel(registry_server, uploaded)
    other = _wheel(tmp_path / "b", "acme-swapped", capabilities={"network_access": ["evil.example"]})
    answer = post_signature(registry_server, publisher.sign(other))
    assert answer.status_code == 403
    assert "sign the file you uploaded" in answer.text


def test_a_body_that_is_not_a_signature_is_a_400(registry_server: RegistryServer) -> None:
    answer = httpx.post(f"{registry_server.url}symphony/signatures", content=b'{"nope": 1}')
    assert answer.status_code == 400
    assert "not a publisher signature" in answer.text


def test_a_file_that_is_not_a_zip_is_refused_and_nothing_is_written(
    registry_server: RegistryServer, tmp_path: Path
) -> None:
    fake = tmp_path / "acme_fake-1.0.0-py3-none-any.whl"
    fake.write_bytes(b"this is not a zip archive")
    before = _packages(registry_server)
    answer = upload_wheel(registry_server, fake)
    assert answer.status_code == 400
    assert "not a valid zip archive" in answer.text
    assert _packages(registry_server) == before
    assert release(updater(registry_server.url, registry_server.root, tmp_path / "c"), fake.name) is None


def test_the_same_file_cannot_be_uploaded_twice(registry_server: RegistryServer, tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "acme-twice")
    publish_wheel(registry_server, wheel)
    answer = upload_wheel(registry_server, wheel)
    assert answer.status_code in {400, 409}
    assert "already exists" in answer.text


def test_an_sdist_is_stored_but_is_not_a_target(registry_server: RegistryServer, tmp_path: Path) -> None:
    sdist = tmp_path / "acme_source-1.0.0.tar.gz"
    sdist.write_bytes(b"\x1f\x8b not really gzip, pypiserver does not look")
    assert upload_wheel(registry_server, sdist).status_code == 200
    assert sdist.name in _packages(registry_server)
    assert release(updater(registry_server.url, registry_server.root, tmp_path / "c"), sdist.name) is None


def test_concurrent_uploads_all_become_targets(registry_server: RegistryServer, tmp_path: Path) -> None:
    wheels = [_wheel(tmp_path, f"acme-parallel-{index}") for index in range(6)]
    answers: list[int] = []
    threads = [
        threading.Thread(target=lambda w=w: answers.append(upload_wheel(registry_server, w).status_code))
        for w in wheels
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * len(wheels)
    client = updater(registry_server.url, registry_server.root, tmp_path / "c")
    client.refresh()
    assert all(client.get_targetinfo(f"packages/{wheel.name}") is not None for wheel in wheels)


def test_yanking_marks_the_release_with_its_reason(registry_server: RegistryServer, tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "acme-yanked", version="2.0.0")
    publish_wheel(registry_server, wheel)
    assert registry_server.repository().yank("acme-yanked", "2.0.0", "broken on Windows") == [wheel.name]
    metadata = release(updater(registry_server.url, registry_server.root, tmp_path / "c"), wheel.name)
    assert metadata is not None
    assert (metadata.yanked, metadata.yanked_reason) == (True, "broken on Windows")


def test_publishers_json_is_a_verified_target(
    registry_server: RegistryServer, publisher: Publisher, tmp_path: Path
) -> None:
    client = updater(registry_server.url, registry_server.root, tmp_path / "c")
    client.refresh()
    info = client.get_targetinfo("publishers.json")
    assert info is not None
    directory = json.loads(Path(client.download_target(info)).read_text())
    assert publisher.public in directory["publishers"]["Acme Labs"]["keys"]


def test_a_private_key_saved_by_the_registry_is_0600(registry_server: RegistryServer) -> None:
    keys = list((registry_server.dir / "keys").iterdir())
    assert keys
    assert all(path.stat().st_mode & 0o777 == 0o600 for path in keys)
    assert signing.load_private_key(keys[0]) is not None


def test_a_wheel_altered_on_the_server_fails_verification(registry_server: RegistryServer, tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "acme-tampered")
    publish_wheel(registry_server, wheel)
    stored = registry_server.dir / "packages" / wheel.name
    tampered = bytearray(stored.read_bytes())
    tampered[-40] ^= 0xFF
    stored.write_bytes(bytes(tampered))
    client = updater(registry_server.url, registry_server.root, tmp_path / "c")
    client.refresh()
    info = client.get_targetinfo(f"packages/{wheel.name}")
    assert info is not None
    with pytest.raises(LengthOrHashMismatchError):
        client.download_target(info)
    assert not list((tmp_path / "c" / "downloads").iterdir())


def test_a_signature_body_over_its_limit_is_refused_unread(registry_server: RegistryServer) -> None:
    answer = httpx.post(f"{registry_server.url}symphony/signatures", content=b"x" * (MAX_SIGNATURE + 1))
    assert answer.status_code == 413
    assert f"at most {MAX_SIGNATURE} bytes" in answer.text
