"""Which installed distribution an extension name stands for, so that grants follow it and not the name.

A name is only a label: after ``pip uninstall`` any other distribution may
take it.  Grants and trust marks are stored with the identity of the
distribution they were given to (its normalised name and the manifest's
publisher, else author) and count only while that same distribution provides
the name.  Upgrades keep the identity; see ``docs/permissions.md``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TypeAlias

import msgspec
from packaging.utils import canonicalize_name

from symphony.hookspecs import VERIFICATION_FILE, PublisherSignature, VerificationError, verify_signature

__all__ = [
    "IdentityLookup",
    "PublisherCheck",
    "identity_of",
    "installed_identity",
    "installed_publisher_check",
    "no_identity",
    "unverifiable",
]

#: The identity of the distribution that provides an extension name now; None when none does.
IdentityLookup: TypeAlias = Callable[[str], str | None]
#: (extension, publisher, keys) -> why its installed distribution is not verified as that publisher's; None if it is.
PublisherCheck: TypeAlias = Callable[[str, str, Collection[str]], str | None]
#: A verification file is a few hundred bytes; a larger one is not read.
_MAX_VERIFICATION_BYTES = 64 * 1024


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


def unverifiable(name: str, _publisher: str, _keys: Collection[str]) -> str | None:
    """For hosts that do not look at installed distributions: nothing can be verified."""
    return f"the installed distribution of {name!r} could not be looked at"


def installed_publisher_check(cache_dir: Path | None, *, use_cache: bool = True) -> PublisherCheck:
    """Checks the signature a verified registry install left in the distribution's ``.dist-info``."""

    def check(name: str, publisher: str, keys: Collection[str]) -> str | None:
        from ..extensions import find_extension

        found = find_extension(cache_dir, name, use_cache=use_cache)
        if found is None or found.manifest_path is None:
            return f"{name!r} is not installed with a readable manifest"
        try:
            raw = (Path(found.location) / VERIFICATION_FILE).read_bytes()[: _MAX_VERIFICATION_BYTES + 1]
        except OSError:
            return (
                f"{found.distribution} carries no registry verification ({VERIFICATION_FILE}); install it with"
                " `symphony ext install`"
            )
        try:
            if len(raw) > _MAX_VERIFICATION_BYTES:
                raise VerificationError(f"{VERIFICATION_FILE} is larger than {_MAX_VERIFICATION_BYTES} bytes")
            signature = msgspec.json.decode(raw, type=PublisherSignature)
            verify_signature(signature, keys)
            manifest = hashlib.sha256(Path(found.manifest_path).read_bytes()).hexdigest()
        except (msgspec.DecodeError, msgspec.ValidationError, VerificationError, OSError) as error:
            return f"its registry verification does not hold: {error}"
        statement = signature.statement
        if statement.publisher != publisher:
            return f"its registry verification names publisher {statement.publisher!r}, not {publisher!r}"
        if statement.manifest_sha256 != manifest:
            return "its manifest was changed after the registry verified it"
        if statement.distribution != canonicalize_name(found.distribution):
            return f"its registry verification is for {statement.distribution}, not {found.distribution}"
        return None

    return check
