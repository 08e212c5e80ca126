"""Which installed distribution an extension name stands for, so that grants follow it and not the name.

A name is only a label: after ``pip uninstall`` any other distribution may
take it.  Grants and trust marks are stored with the identity of the
distribution they were given to (its normalised name and the manifest's
publisher, else author) and count only while that same distribution provides
the name.  Upgrades keep the identity; see ``docs/permissions.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

from packaging.utils import canonicalize_name

__all__ = ["IdentityLookup", "identity_of", "installed_identity", "no_identity"]

#: The identity of the distribution that provides an extension name now; None when none does.
IdentityLookup: TypeAlias = Callable[[str], str | None]


def identity_of(distribution: str, publisher: str | None) -> str:
    """``<normalised distribution name>`` plus ``by <publisher>`` when the manifest names one."""
    name = canonicalize_name(distribution)
    return f"{name} by {publisher}" if publisher else name


def no_identity(_name: str) -> str | None:
    """For extensions that are not installed distributions (embedders' and tests' own lookups)."""
    return None


def installed_identity(cache_dir: Path | None, *, use_cache: bool = True) -> IdentityLookup:
    """Identities read from the installed ``symphony.extensions`` entry points (through the manifest index)."""

    def identify(name: str) -> str | None:
        from ..extensions import find_extension

        found = find_extension(cache_dir, name, use_cache=use_cache)
        if found is None:
            return None
        info = found.manifest.extension if found.manifest is not None else None
        return identity_of(found.distribution, (info.publisher or info.author) if info else None)

    return identify
