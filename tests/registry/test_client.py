"""The client API other parts build on (install, publish), against the real index server."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from symphony.hookspecs import RegistryError, VerificationError
from symphony.registry.client import Index, open_index
from symphony.registry.client._config import save_index

from .conftest import Publisher, RegistryServer, publish_wheel, run_symphony
from .mirror import static_mirror
from .wheels import make_extension_wheel, manifest_text


def _publish(server: RegistryServer, directory: Path, name: str, version: str, **options: object) -> Path:
    wheel = make_extension_wheel(
        directory,
        distribution=name,
        version=version,
        extension=name,
        publisher="Acme Labs",
        **options,  # type: ignore[arg-type]
    )
    publish_wheel(server, wheel)
    return wheel


def _synced(data_dir: Path, url: str, root: Path) -> Index:
    save_index(data_dir, "default", url, root.read_bytes())
    index = open_index(data_dir)
    index.refresh()
    return index


def test_no_configured_index_says_how_to_configure_one(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match=r"symphony registry use URL --root ROOT\.json"):
        open_index(tmp_path)


def test_resolve_skips_a_version_needing_another_symphony_api_and_says_why(
    registry_server: RegistryServer, tmp_path: Path
) -> None:
    _publish(registry_server, tmp_path, "r2-resolve-api", "1.0.0")
    _publish(registry_server, tmp_path, "r2-resolve-api", "2.0.0", symphony_api="^2.0")
    with _synced(tmp_path / "data", registry_server.url, registry_server.root) as index:
        assert index.resolve("r2-resolve-api").metadata.version == "1.0.0"
        with pytest.raises(RegistryError, match=r"2\.0\.0: needs Symphony API \^2\.0; this host has 1\.0"):
            index.resolve("r2-resolve-api", "==2.0.0")


def test_resolve_skips_a_yanked_version_and_says_why(registry_server: RegistryServer, tmp_path: Path) -> None:
    _publish(registry_server, tmp_path, "r2-resolve-yank", "1.0.0")
    _publish(registry_server, tmp_path, "r2-resolve-yank", "1.1.0")
    run_symphony("registry", "yank", registry_server.dir, "r2-resolve-yank", "1.1.0", "--reason", "corrupts notes")
    with _synced(tmp_path / "data", registry_server.url, registry_server.root) as index:
        assert index.resolve("r2-resolve-yank").metadata.version == "1.0.0"
        with pytest.raises(RegistryError, match=r"1\.1\.0: yanked \(corrupts notes\)"):
            index.resolve("r2-resolve-yank", ">1.0")


def test_resolve_takes_a_yanked_version_only_when_pinned_exactly(
    registry_server: RegistryServer, tmp_path: Path
) -> None:
    _publish(registry_server, tmp_path, "r2-pinned-yank", "1.0.0")
    run_symphony("registry", "yank", registry_server.dir, "r2-pinned-yank", "1.0.0", "--reason", "slow")
    with _synced(tmp_path / "data", registry_server.url, registry_server.root) as index:
        assert index.resolve("r2-pinned-yank", "==1.0.0").metadata.yanked
        with pytest.raises(RegistryError, match=r"1\.0\.0: yanked \(slow\)"):
            index.resolve("r2-pinned-yank", "==1.*")


def test_a_yank_reaches_a_client_that_synced_before_it(registry_server: RegistryServer, tmp_path: Path) -> None:
    _publish(registry_server, tmp_path, "r2-late-yank", "1.0.0")
    with _synced(tmp_path / "data", registry_server.url, registry_server.root) as index:
        assert not index.releases("r2-late-yank")[0].metadata.yanked
        run_symphony("registry", "yank", registry_server.dir, "r2-late-yank", "1.0.0", "--reason", "broken")
        index.refresh()
        assert index.releases("r2-late-yank")[0].metadata.yanked


def test_resolve_of_an_unknown_name_suggests_search_and_sync(registry_server: RegistryServer, tmp_path: Path) -> None:
    with (
        _synced(tmp_path / "data", registry_server.url, registry_server.root) as index,
        pytest.raises(RegistryError, match="symphony ext search r2-nowhere"),
    ):
        index.resolve("r2-nowhere")


def test_search_finds_a_published_extension_by_its_description(registry_server: RegistryServer, tmp_path: Path) -> None:
    manifest = manifest_text(extension="r2-barometer", version="1.0.0", publisher="Acme Labs", module="r2_barometer")
    manifest = manifest.replace('description = "Echoes its input', 'description = "Measures barometric pressure')
    _publish(registry_server, tmp_path, "r2-barometer", "1.0.0", manifest=manifest)
    with _synced(tmp_path / "data", registry_server.url, registry_server.root) as index:
        assert [hit.name for hit in index.search("barometric pressure")] == ["r2-barometer"]


def test_download_writes_the_release_the_registry_signed(registry_server: RegistryServer, tmp_path: Path) -> None:
    wheel = _publish(registry_server, tmp_path / "built", "r2-download", "1.0.0")
    with _synced(tmp_path / "data", registry_server.url, registry_server.root) as index:
        path = index.download(index.resolve("r2-download"), tmp_path / "downloads")
    assert path == tmp_path / "downloads" / wheel.name
    assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(wheel.read_bytes()).digest()


def test_a_tampered_wheel_is_refused_and_nothing_is_written(registry_server: RegistryServer, tmp_path: Path) -> None:
    wheel = _publish(registry_server, tmp_path / "built", "r2-tampered-wheel", "1.0.0")
    mirror_dir = tmp_path / "mirror"
    shutil.copytree(registry_server.dir, mirror_dir, ignore=shutil.ignore_patterns("keys", "*.lock"))
    tampered = mirror_dir / "packages" / wheel.name
    data = tampered.read_bytes()
    tampered.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))  # same length, other content
    with (
        static_mirror(mirror_dir) as mirror,
        _synced(tmp_path / "data", mirror.url, registry_server.root) as index,
        pytest.raises(VerificationError, match="tampered wheel"),
    ):
        index.download(index.resolve("r2-tampered-wheel"), tmp_path / "downloads")
    assert not (tmp_path / "downloads" / wheel.name).exists()


def test_publishers_are_the_verified_directory_of_the_last_sync(
    registry_server: RegistryServer, publisher: Publisher, tmp_path: Path
) -> None:
    with _synced(tmp_path / "data", registry_server.url, registry_server.root) as index:
        directory = index.publishers()
    assert publisher.public in directory.publishers[publisher.name].keys


def test_a_signed_release_carries_its_publisher_signature(
    registry_server: RegistryServer, publisher: Publisher, tmp_path: Path
) -> None:
    wheel = make_extension_wheel(
        tmp_path, distribution="r2-signed", version="1.0.0", extension="r2-signed", publisher=publisher.name
    )
    publish_wheel(registry_server, wheel, publisher)
    with _synced(tmp_path / "data", registry_server.url, registry_server.root) as index:
        signature = index.resolve("r2-signed").metadata.signature
    assert signature is not None and signature.statement.publisher == publisher.name
