"""An extension's dependencies: kept when the environment already satisfies them, else taken from the same index.

A requirement (``Requires-Dist``, markers evaluated for this interpreter) that
an installed distribution satisfies is left alone: the host's own libraries
are never replaced behind its back.  One that is missing or too old is
resolved on the same registry (newest matching, not yanked), downloaded
through TUF and hashed like the extension itself, and so is what it
requires, in turn.  Nothing is fetched from anywhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from symphony.hookspecs import RegistryError

from ..records import Release
from .environment import Snapshot
from .verify import check_file

__all__ = ["Downloaded", "ReleaseSource", "resolve_dependencies"]

#: Far more than any real dependency tree; a cycle or a runaway index stops here.
_MAX_DEPENDENCIES = 200


class ReleaseSource(Protocol):
    """What of the registry client resolving needs (``client.Index``)."""

    def resolve(self, name: str, specifier: str | None) -> Release: ...

    def download(self, release: Release, directory: Path) -> Path: ...


@dataclass(frozen=True)
class Downloaded:
    """A dependency's release and its verified file."""

    release: Release
    path: Path


def _requirements(texts: Iterable[str], extras: Iterable[str], owner: str) -> list[Requirement]:
    wanted = []
    for text in texts:
        try:
            requirement = Requirement(text)
        except InvalidRequirement as error:
            raise RegistryError(f"{owner} requires {text!r}, which is not a requirement: {error}") from None
        environments: list[dict[str, Any]] = [{"extra": extra} for extra in extras] or [{"extra": ""}]
        if requirement.marker is None or any(requirement.marker.evaluate(env) for env in environments):
            wanted.append(requirement)
    return wanted


def resolve_dependencies(
    requires: Iterable[str], *, owner: str, installed: Snapshot, source: ReleaseSource, directory: Path
) -> list[Downloaded]:
    """The releases to install with ``owner`` so that ``requires`` holds; each downloaded and checked."""
    chosen: dict[str, Downloaded] = {}
    pending = [(requirement, owner) for requirement in _requirements(requires, (), owner)]
    while pending:
        requirement, needed_by = pending.pop(0)
        name = canonicalize_name(requirement.name)
        present = installed.distribution(name)
        if present is not None and requirement.specifier.contains(present.version, prereleases=True):
            continue
        if name in chosen:
            version = chosen[name].release.metadata.version
            if not requirement.specifier.contains(version, prereleases=True):
                raise RegistryError(
                    f"{needed_by} requires {requirement}, but {name} {version} is already chosen for another"
                    " requirement; the registry cannot satisfy both."
                )
            continue
        if len(chosen) >= _MAX_DEPENDENCIES:
            raise RegistryError(f"{owner} needs more than {_MAX_DEPENDENCIES} dependencies; not installing it")
        try:
            release = source.resolve(name, str(requirement.specifier) or None)
        except RegistryError as error:
            found = f" ({present.version} is installed)" if present is not None else ""
            raise RegistryError(
                f"{needed_by} requires {requirement}{found}, which this registry cannot provide: {error}"
            ) from None
        path = source.download(release, directory)
        check_file(release, path)
        chosen[name] = Downloaded(release, path)
        pending += [(r, name) for r in _requirements(release.metadata.requires_dist, requirement.extras, name)]
    return list(chosen.values())
