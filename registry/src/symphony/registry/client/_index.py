"""An index as a client uses it: its catalogue (search, releases, resolve) and verified downloads."""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from symphony.hookspecs import RegistryError, VerificationError

from .._locking import DirectoryLock
from ..records import PublisherDirectory, Release
from ._catalogue import Catalogue, CatalogueState, Kind, SearchHit, open_catalogue
from ._config import DEFAULT_INDEX, IndexConfig, index_dir, load_config
from ._sync import SyncReport, sync

if TYPE_CHECKING:  # python-tuf is imported by what refreshes or downloads (~300 ms), not by search and resolve
    from tuf.ngclient import Updater

__all__ = ["Index", "open_index"]


def open_index(data_dir: Path, name: str | None = None) -> Index:
    """Index ``name`` (default: the current one) configured under ``data_dir``; RegistryError saying how if none is."""
    config = load_config(data_dir)
    chosen = name or config.current or DEFAULT_INDEX
    if chosen not in config.indexes:
        known = f" Configured: {', '.join(sorted(config.indexes))}." if config.indexes else ""
        raise RegistryError(
            f"No extension index {chosen!r} is configured.{known} Point this host at one with"
            " `symphony registry use URL --root ROOT.json` (ROOT.json: the root metadata the index's operator"
            " gives you)."
        )
    return Index(data_dir, chosen, config.indexes[chosen])


class Index:
    """One configured index.  Reads answer from the catalogue; :meth:`refresh` brings it up to date."""

    def __init__(self, data_dir: Path, name: str, config: IndexConfig) -> None:
        self.name = name
        self.url = config.url
        self.directory = index_dir(data_dir, name)
        self._catalogue: Catalogue | None = None

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._catalogue is not None:
            self._catalogue.close()
            self._catalogue = None

    @property
    def catalogue(self) -> Catalogue:
        if self._catalogue is None:
            self._catalogue = open_catalogue(self.directory / "catalogue.db")
        return self._catalogue

    def _updater(self) -> Updater:
        from ._tuf import make_updater

        try:
            root = (self.directory / "root.json").read_bytes()
        except FileNotFoundError:
            raise RegistryError(
                f"Index {self.name!r} has no pinned root metadata ({self.directory / 'root.json'}). Run"
                f" `symphony registry use {self.url} --root ROOT.json` again."
            ) from None
        return make_updater(self.url, root, self.directory)

    def refresh(self) -> SyncReport:
        """Verify the index's newest metadata and re-index the bins that changed (VerificationError on an attack)."""
        with self._one_updater():
            return sync(self._updater(), self.catalogue, self.url)

    def _one_updater(self) -> AbstractContextManager[None]:
        """Exclusive use of the index's metadata directory: python-tuf's ``Updater`` is not safe beside another
        (each one re-links ``root.json`` as it starts), whether in another thread or another process."""
        self.directory.mkdir(parents=True, exist_ok=True)
        return DirectoryLock(self.directory).hold()

    def state(self) -> CatalogueState:
        return self.catalogue.state()

    def age(self) -> float | None:
        """Seconds since the last sync, None if never synced."""
        synced = self.state().synced_at
        return None if synced is None else max(0.0, time.time() - synced)

    def search(
        self, query: str, *, contributes: Kind | None = None, capabilities: tuple[str, ...] = (), limit: int = 20
    ) -> list[SearchHit]:
        """Extensions matching every word of ``query`` and the filters, from the catalogue alone (no network)."""
        return self.catalogue.search(query, contributes=contributes, capabilities=capabilities, limit=limit)

    def releases(self, name: str) -> list[Release]:
        """Every release of extension or distribution ``name``, newest first, with compatibility for this host."""
        return self.catalogue.releases(name)

    def resolve(self, name: str, specifier: str | None = None) -> Release:
        """The newest release of ``name`` in ``specifier`` that is not yanked and runs here.

        A yanked release is taken only when ``specifier`` pins it exactly
        (``==1.1.0``), as PEP 592 and pip do; ``release.metadata.yanked`` then
        tells the installer to warn.  RegistryError when nothing fits, listing
        each release skipped and why.
        """
        releases = self.releases(name)
        if not releases:
            raise RegistryError(
                f"No extension or distribution named {name!r} on index {self.name!r} ({self.url}). Try"
                f" `symphony ext search {name}`; if it was published just now, `symphony registry sync` first."
            )
        distributions = sorted({release.metadata.distribution for release in releases})
        if len(distributions) > 1:
            raise RegistryError(
                f"{name!r} names extensions of several distributions on index {self.name!r}:"
                f" {', '.join(distributions)}. Give the distribution's name instead."
            )
        wanted = _specifier(specifier)
        skipped: list[str] = []
        for release in releases:
            version = release.metadata.version
            if not _in(wanted, version):
                continue
            if release.metadata.yanked and not (_pinned(wanted) and release.compatible):
                skipped.append(f"{version}: yanked ({release.metadata.yanked_reason or 'no reason given'})")
            elif not release.compatible:
                skipped.append(f"{version}: {release.incompatible_reason}")
            else:
                return release
        wanted_text = f" {wanted}" if str(wanted) else ""
        found = "\n".join(f"  - {line}" for line in skipped) or f"  (no version matches{wanted_text})"
        available = ", ".join(release.metadata.version for release in releases)
        raise RegistryError(
            f"No release of {name}{wanted_text} can be installed here. Skipped:\n{found}\nVersions on the index:"
            f" {available}."
        )

    def download(self, release: Release, directory: Path) -> Path:
        """Download ``release`` into ``directory``, checked against the length and sha256 the registry signed."""
        from tuf.api import exceptions
        from tuf.api.metadata import TargetFile

        from ._tuf import FETCH_ERRORS, explain

        filename = release.metadata.filename
        if Path(filename).name != filename or filename in ("", ".", ".."):
            raise VerificationError(f"Refused release file name {filename!r}: it is not a plain file name.")
        target = TargetFile(length=release.length, hashes={"sha256": release.sha256}, path=release.target_path)
        destination = directory / filename
        try:
            with self._one_updater():
                return Path(self._updater().download_target(target, str(destination)))
        except exceptions.LengthOrHashMismatchError as error:
            raise VerificationError(
                f"Refused {filename} from {self.url}: its content differs from what the registry signed ({error})."
                " This is what a tampered wheel looks like; nothing was written."
            ) from None
        except FETCH_ERRORS as error:
            raise explain(error, self.url) from None

    def publishers(self) -> PublisherDirectory:
        """The publishers and their keys as of the last sync (verified then); syncs first if never synced."""
        directory = self.catalogue.publishers()
        if directory is None:
            self.refresh()
            directory = self.catalogue.publishers()
        return directory or PublisherDirectory()


def _specifier(text: str | None) -> SpecifierSet:
    """``text`` as PEP 440 specifiers; a bare version means exactly that version."""
    text = (text or "").strip()
    if text and text[0].isdigit():
        text = f"=={text}"
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        raise RegistryError(
            f"Invalid version specifier {text!r}: use PEP 440 forms such as '==1.2.0', '>=1.2,<2' or '~=1.2'."
        ) from None


def _pinned(specifier: SpecifierSet) -> bool:
    """Whether ``specifier`` names one exact version (``==1.1.0``, not ``==1.*``)."""
    clauses = list(specifier)
    return len(clauses) == 1 and clauses[0].operator in ("==", "===") and "*" not in clauses[0].version


def _in(specifier: SpecifierSet, version: str) -> bool:
    try:
        return specifier.contains(Version(version), prereleases=True if str(specifier) else None)
    except InvalidVersion:
        return False
