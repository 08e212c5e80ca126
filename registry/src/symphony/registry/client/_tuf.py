"""The TUF client side: an ngclient Updater per refresh, and what its errors mean to a user.

Every piece of metadata the catalogue reads passes through python-tuf's
``TrustedMetadataSet`` (signatures, thresholds, versions, expiry, hashes in
snapshot), so a mirror cannot serve an older catalogue (rollback), hold back
updates with stale metadata (freeze), or change a bin (tampering) unnoticed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

import urllib3
from tuf.api import exceptions
from tuf.api.metadata import Metadata, Root, Signed, Snapshot, Targets
from tuf.ngclient import Updater, UpdaterConfig

from symphony.hookspecs import RegistryError, VerificationError

__all__ = ["FETCH_ERRORS", "check_root", "explain", "make_updater", "trusted_role"]

#: What a refresh or download raises for a refused or unreachable index (urllib3's for a refused connection).
FETCH_ERRORS: Final = (exceptions.RepositoryError, exceptions.DownloadError, urllib3.exceptions.HTTPError)
#: Metadata is served under ``<url>/tuf/``; targets (wheels, publishers.json) under ``<url>/``.
METADATA_PATH: Final = "tuf/"


def make_updater(url: str, root: bytes, directory: Path) -> Updater:
    """A fresh Updater (one refresh each) trusting ``root``, caching verified metadata under ``directory``."""
    # An unreachable index ends in one error naming it (explain); urllib3's warning per retry would repeat it thrice.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    metadata = directory / "metadata"
    metadata.mkdir(parents=True, exist_ok=True)
    base = url.rstrip("/") + "/"
    try:
        return Updater(
            metadata_dir=str(metadata),
            metadata_base_url=base + METADATA_PATH,
            target_dir=str(directory / "targets"),
            target_base_url=base,
            config=UpdaterConfig(prefix_targets_with_hash=False),
            bootstrap=root,
        )
    except exceptions.RepositoryError as error:
        raise VerificationError(f"The pinned root metadata of {url} is not valid: {error}.") from None


def check_root(data: bytes, source: str) -> Root:
    """``data`` as root metadata signed by its own threshold of root keys, or RegistryError saying what it is."""
    try:
        metadata = Metadata[Root].from_bytes(data)
    except Exception as error:  # securesystemslib/json raise many types for a file that is not metadata
        raise RegistryError(
            f"{source} is not TUF root metadata ({type(error).__name__}: {error}). Give the root.json the index's"
            " operator published (the registry directory's root.json)."
        ) from None
    if not isinstance(metadata.signed, Root):
        raise RegistryError(f"{source} is TUF {metadata.signed.type} metadata, not root metadata (root.json).")
    try:
        metadata.signed.verify_delegate(Root.type, metadata.signed_bytes, metadata.signatures)
    except exceptions.UnsignedMetadataError as error:
        raise VerificationError(f"{source} is not signed by its own root keys: {error}.") from None
    return metadata.signed


def trusted_role(updater: Updater, role: str, delegator: str = Targets.type) -> Signed:
    """Verified metadata of ``role`` after ``updater.refresh()``: snapshot, top-level targets or a bin.

    python-tuf has no public call to list a delegated role's targets (its
    public API answers one target path at a time), so this is the one place
    that uses Updater internals: ``_trusted_set`` for the snapshot already
    verified by ``refresh()``, and ``_load_targets``, the method
    ``get_targetinfo`` itself uses to fetch (or take from the cache) and verify
    a delegated role against the snapshot (signature threshold of the
    delegator's keys, version, expiry, hashes).  tests/registry/test_sync.py
    pins this behaviour.
    """
    if role == Snapshot.type:
        snapshot: Snapshot = updater._trusted_set.snapshot  # non-public: see the docstring
        return snapshot
    return updater._load_targets(role, delegator)  # non-public: see the docstring


def explain(error: Exception, url: str) -> RegistryError:
    """A python-tuf or download error as a RegistryError naming the attack it stopped, if it is one."""
    where = f"the index {url}"
    if isinstance(error, exceptions.ExpiredMetadataError):
        return VerificationError(
            f"Refused {where}: its signed metadata has expired ({error}). This is what a freeze attack looks like"
            " (a mirror serving stale metadata to hide newer releases); it also happens when the index's operator"
            " has stopped re-signing its timestamp. The catalogue was left as it was; try again later or ask the"
            " index's operator."
        )
    if isinstance(error, exceptions.BadVersionNumberError):
        return VerificationError(
            f"Refused {where}: it serves metadata older than this host has already seen ({error}). This is what a"
            " rollback attack looks like (a mirror serving an old catalogue, e.g. to bring back a vulnerable"
            " release). The catalogue was left as it was."
        )
    if isinstance(error, (exceptions.UnsignedMetadataError, exceptions.LengthOrHashMismatchError)):
        return VerificationError(
            f"Refused {where}: metadata does not match its signatures or the hashes that sign it ({error})."
            " This is what tampering looks like (metadata changed after the registry signed it); it is also what"
            " an index shows a client that pinned another index's root.json. The catalogue was left as it was."
        )
    if isinstance(error, (exceptions.DownloadError, urllib3.exceptions.HTTPError)):
        return RegistryError(
            f"Could not download from {where}: {_detail(error)}. Check that the index is running and the URL is right"
            " (`symphony registry status`)."
        )
    if isinstance(error, exceptions.RepositoryError):
        return VerificationError(f"Refused {where}: its metadata failed verification ({error}).")
    return RegistryError(f"Could not refresh from {where}: {type(error).__name__}: {error}.")


def _detail(error: BaseException) -> str:
    """The first non-empty message along ``error``'s causes (python-tuf re-raises urllib3's with an empty one)."""
    cause: BaseException | None = error
    while cause is not None:
        if str(cause):
            return str(cause)
        cause = cause.__cause__ or cause.__context__
    return type(error).__name__
