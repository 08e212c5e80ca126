"""One catalogue sync: a TUF refresh, then only the hash bins whose version changed in the new snapshot."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import msgspec

from symphony.hookspecs import Base, RegistryError

from ..records import PACKAGES_PREFIX, PUBLISHERS_TARGET, PublisherDirectory, decode_release
from ._catalogue import Catalogue, VerifiedRelease

if TYPE_CHECKING:  # python-tuf costs ~300 ms to import (securesystemslib's signers): only a sync needs it
    from tuf.api.metadata import Targets
    from tuf.ngclient import Updater

__all__ = ["SyncReport", "sync"]

_log = logging.getLogger(__name__)


class SyncReport(Base, frozen=True):
    """What a sync did: ``full`` when the catalogue was empty; bins and releases counted."""

    full: bool
    snapshot_version: int
    bins: int  # delegated hash bins in the snapshot
    bins_fetched: int  # bins whose version changed, fetched and re-indexed
    added: int  # release rows written (from the fetched bins)
    removed: int  # release rows replaced or dropped
    releases: int  # releases in the catalogue after the sync
    extensions: int


def _bin_releases(targets: Targets) -> list[VerifiedRelease]:
    found = []
    for path, target in targets.targets.items():
        custom = target.custom.get("symphony") if isinstance(target.custom, dict) else None
        if not path.startswith(PACKAGES_PREFIX) or custom is None:
            continue
        try:
            metadata = decode_release(custom)
        except RegistryError as error:  # signed by the registry, so written by another version of it: skip, say so
            _log.warning("skipped %s: %s", path, error)
            continue
        found.append(VerifiedRelease(path, target.hashes.get("sha256", ""), target.length, metadata))
    return found


def _publishers(updater: Updater) -> PublisherDirectory:
    target = updater.get_targetinfo(PUBLISHERS_TARGET)
    if target is None:
        return PublisherDirectory()
    path = updater.find_cached_target(target) or updater.download_target(target)
    with open(path, "rb") as file:
        try:
            return msgspec.json.decode(file.read(), type=PublisherDirectory)
        except msgspec.DecodeError as error:
            raise RegistryError(f"The index's {PUBLISHERS_TARGET} is malformed: {error}.") from None


def sync(updater: Updater, catalogue: Catalogue, url: str) -> SyncReport:
    """Refresh ``updater`` (a new one: ngclient refreshes once) and bring ``catalogue`` up to its snapshot."""
    from tuf.api.metadata import Root, Snapshot, Targets

    from ._tuf import FETCH_ERRORS, explain, trusted_role

    known = catalogue.bin_versions()
    try:
        updater.refresh()
        snapshot = trusted_role(updater, Snapshot.type)
        top = trusted_role(updater, Targets.type, Root.type)
        assert isinstance(snapshot, Snapshot) and isinstance(top, Targets)
        succinct = top.delegations.succinct_roles if top.delegations else None
        roles = list(succinct.get_roles()) if succinct else []
        versions = {role: snapshot.meta[f"{role}.json"].version for role in roles if f"{role}.json" in snapshot.meta}
        changed: dict[str, list[VerifiedRelease]] = {}
        for role, version in versions.items():
            if known.get(role) != version:
                bin_targets = trusted_role(updater, role)
                assert isinstance(bin_targets, Targets)
                changed[role] = _bin_releases(bin_targets)
        publishers = _publishers(updater)
    except FETCH_ERRORS as error:
        raise explain(error, url) from None
    added, removed = catalogue.apply(
        bins=versions, changed=changed, publishers=publishers, snapshot_version=snapshot.version
    )
    state = catalogue.state()
    return SyncReport(
        full=not known,
        snapshot_version=snapshot.version,
        bins=len(versions),
        bins_fetched=len(changed),
        added=added,
        removed=removed,
        releases=state.releases,
        extensions=state.extensions,
    )
