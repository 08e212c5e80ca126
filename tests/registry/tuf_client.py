"""A plain python-tuf client over a test server: what any TUF client (R2's included) sees of the index."""

from __future__ import annotations

from pathlib import Path

from tuf.ngclient import Updater, UpdaterConfig

from symphony.registry.records import ReleaseMetadata, decode_release


def updater(url: str, root: Path, directory: Path) -> Updater:
    """An Updater trusting ``root`` (a root.json) the first time, then the root it keeps in ``directory``."""
    metadata = directory / "metadata"
    metadata.mkdir(parents=True, exist_ok=True)
    bootstrap = None if (metadata / "root.json").exists() else root.read_bytes()
    downloads = directory / "downloads"
    downloads.mkdir(exist_ok=True)
    return Updater(
        metadata_dir=str(metadata),
        metadata_base_url=f"{url}tuf/",
        target_base_url=url,
        target_dir=str(downloads),
        config=UpdaterConfig(prefix_targets_with_hash=False),
        bootstrap=bootstrap,
    )


def release(client: Updater, filename: str) -> ReleaseMetadata | None:
    """The signed metadata of ``packages/<filename>`` after a refresh, or None when it is not a target."""
    client.refresh()
    info = client.get_targetinfo(f"packages/{filename}")
    return None if info is None else decode_release(info.custom["symphony"])
