"""Catalogue sync against the real index server: full, then only the bins that changed; every attack refused.

Mirrors (``mirror.py``) are static copies of the server's directory: what a
mirror serves, including an old or tampered one.  ``trusted_role`` (the one
use of ngclient internals) is pinned here: a bin is fetched only when its
version changed, and a bin whose signature does not verify is refused.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from symphony.hookspecs import RegistryError, VerificationError
from symphony.registry.client import Index, SyncReport, open_index
from symphony.registry.client._config import save_index
from symphony.registry.server.repository import BINS

from .conftest import RegistryServer, publish_wheel, start_registry_server, wait_for
from .mirror import static_mirror
from .wheels import make_extension_wheel


def _index(data_dir: Path, url: str, root: Path) -> Index:
    """A client of ``url`` trusting ``root``; a later call with the same root keeps what it verified."""
    save_index(data_dir, "default", url, root.read_bytes())
    return open_index(data_dir)


def _publish(server: RegistryServer, directory: Path, name: str, version: str = "1.0.0") -> Path:
    wheel = make_extension_wheel(directory, distribution=name, version=version, extension=name, publisher="Acme Labs")
    publish_wheel(server, wheel)
    return wheel


def _bin_of(wheel: Path) -> str:
    return BINS.get_role_for_target(f"packages/{wheel.name}")


def _copy(server: RegistryServer, destination: Path) -> Path:
    """The server's files as a mirror would hold them (no keys)."""
    shutil.copytree(server.dir, destination, ignore=shutil.ignore_patterns("keys", "*.lock"))
    return destination


def test_a_first_sync_is_full_and_indexes_every_signed_release(registry_server: RegistryServer, tmp_path: Path) -> None:
    wheel = _publish(registry_server, tmp_path, "r2-sync-first")
    with _index(tmp_path / "data", registry_server.url, registry_server.root) as index:
        report = index.refresh()
        (release,) = index.releases("r2-sync-first")
    assert report.full
    assert report.bins == report.bins_fetched == 64
    assert release.sha256 == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert release.length == wheel.stat().st_size
    assert release.target_path == f"packages/{wheel.name}"


def test_a_later_sync_fetches_only_the_bin_that_changed(registry_server: RegistryServer, tmp_path: Path) -> None:
    with _index(tmp_path / "data", registry_server.url, registry_server.root) as index:
        index.refresh()
    wheel = _publish(registry_server, tmp_path, "r2-sync-incremental")
    mirror_dir = _copy(registry_server, tmp_path / "mirror")
    with static_mirror(mirror_dir) as mirror, _index(tmp_path / "data", mirror.url, registry_server.root) as index:
        report = index.refresh()
        assert [r.metadata.version for r in index.releases("r2-sync-incremental")] == ["1.0.0"]
    assert not report.full
    assert report.bins_fetched == 1
    fetched_bins = [path for path in mirror.requests if ".bins-" in path]
    assert len(fetched_bins) == 1 and fetched_bins[0].endswith(f".{_bin_of(wheel)}.json")


def test_a_sync_with_nothing_new_fetches_no_bin(registry_server: RegistryServer, tmp_path: Path) -> None:
    mirror_dir = _copy(registry_server, tmp_path / "mirror")
    with static_mirror(mirror_dir) as mirror, _index(tmp_path / "data", mirror.url, registry_server.root) as index:
        index.refresh()
        mirror.requests.clear()
        report = index.refresh()
    assert (report.full, report.bins_fetched, report.added, report.removed) == (False, 0, 0, 0)
    # TUF asks for the next root version first (a 404: no rotation), then the timestamp: same snapshot, so nothing else
    assert [path for path in mirror.requests if not path.endswith(".root.json")] == ["/tuf/timestamp.json"]


def test_syncs_at_once_all_complete(registry_server: RegistryServer, tmp_path: Path) -> None:
    _publish(registry_server, tmp_path, "r2-sync-concurrent")
    save_index(tmp_path / "data", "default", registry_server.url, registry_server.root.read_bytes())

    def sync() -> SyncReport:
        with open_index(tmp_path / "data") as index:
            return index.refresh()

    # Each refresh starts a python-tuf updater, which re-links the index's root.json: without one updater
    # at a time, two of them racing fail on the link (seen in CI with two).
    with ThreadPoolExecutor(4) as pool:
        reports = list(pool.map(lambda _: sync(), range(12)))
    with open_index(tmp_path / "data") as index:
        assert index.releases("r2-sync-concurrent")
        assert index.state().releases == max(report.releases for report in reports)


def test_a_mirror_serving_an_older_catalogue_is_refused_as_a_rollback(
    registry_server: RegistryServer, tmp_path: Path
) -> None:
    old = _copy(registry_server, tmp_path / "old")
    _publish(registry_server, tmp_path, "r2-after-the-copy")
    with _index(tmp_path / "data", registry_server.url, registry_server.root) as index:
        index.refresh()
        before = index.state()
    with static_mirror(old) as mirror, _index(tmp_path / "data", mirror.url, registry_server.root) as index:
        with pytest.raises(VerificationError, match="rollback attack"):
            index.refresh()
        assert index.state() == before
        assert index.releases("r2-after-the-copy")


@pytest.mark.slow  # its own server, and a wait for its timestamp to expire
def test_a_mirror_serving_an_expired_timestamp_is_refused_as_a_freeze(tmp_path: Path) -> None:
    server = start_registry_server(tmp_path / "index", "--timestamp-expiry", "2")
    try:
        _publish(server, tmp_path, "r2-frozen")  # signs a timestamp valid for 2 s (init's is valid for a day)
        with _index(tmp_path / "data", server.url, server.root) as index:
            index.refresh()
    finally:
        server.stop()  # nobody re-signs the timestamp any more: a mirror keeps serving what it has
    timestamp = json.loads((server.dir / "tuf" / "timestamp.json").read_bytes())["signed"]["expires"]
    expires = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    wait_for(lambda: datetime.now(UTC) > expires, what="the timestamp to expire")
    with static_mirror(server.dir) as mirror, _index(tmp_path / "data", mirror.url, server.root) as index:
        before = index.state()
        with pytest.raises(VerificationError, match="freeze attack"):
            index.refresh()
        assert index.state() == before


def test_a_tampered_bin_is_refused(registry_server: RegistryServer, tmp_path: Path) -> None:
    wheel = _publish(registry_server, tmp_path, "r2-tampered-bin")
    mirror_dir = _copy(registry_server, tmp_path / "mirror")
    role = _bin_of(wheel)
    path = max((mirror_dir / "tuf").glob(f"*.{role}.json"), key=lambda p: int(p.name.split(".")[0]))
    document = json.loads(path.read_bytes())
    target = document["signed"]["targets"][f"packages/{wheel.name}"]
    target["custom"]["symphony"]["yanked"] = True  # any change the registry did not sign
    path.write_text(json.dumps(document))
    with static_mirror(mirror_dir) as mirror, _index(tmp_path / "data", mirror.url, registry_server.root) as index:
        with pytest.raises(VerificationError, match="tampering"):
            index.refresh()
        assert index.state().releases == 0


def test_a_rotated_key_is_followed_from_the_pinned_root(registry_server: RegistryServer, tmp_path: Path) -> None:
    with _index(tmp_path / "data", registry_server.url, registry_server.root) as index:
        index.refresh()
        registry_server.repository().rotate("timestamp")  # a new root version lists the new timestamp key
        _publish(registry_server, tmp_path, "r2-after-rotation")
        report = index.refresh()
        assert index.releases("r2-after-rotation")
    assert not report.full
    assert len(list((tmp_path / "data" / "registry" / "default" / "metadata" / "root_history").iterdir())) >= 2


def test_an_unreachable_index_is_a_clear_error(registry_server: RegistryServer, tmp_path: Path) -> None:
    with static_mirror(tmp_path) as mirror:
        url = mirror.url  # a port that nothing listens on once the mirror is gone
    with (
        _index(tmp_path / "data", url, registry_server.root) as index,
        pytest.raises(RegistryError, match="Check that the index is running"),
    ):
        index.refresh()
