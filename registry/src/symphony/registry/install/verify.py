"""Everything checked before anything is installed: the file, its publisher's signature, the policy's pins, the name.

TUF has already checked the wheel's length and SHA-256 against the
registry's signed targets when it was downloaded; here the file is hashed
again (the digest the signature and ``--require-hashes`` use is the one of
the bytes on disk), the publisher's signature is checked with the key the
TUF-verified ``publishers.json`` lists (not a revoked one), the signed
statement must describe this very wheel and the manifest inside it, the
distribution's ``permissions.publisher_keys`` pin a trusted publisher to
their keys, and an extension name already installed from another
distribution or publisher is refused.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from symphony.hookspecs import PermissionPolicy, PublisherSignature, VerificationError, key_id, verify_signature

from ..records import PublisherDirectory, Release
from ..wheels import WheelInfo, read_wheel
from .environment import Snapshot

__all__ = ["check_file", "check_name", "verify_extension"]


def check_file(release: Release, wheel: Path) -> None:
    """The file's length and SHA-256 are those the registry signed; VerificationError naming the tampering."""
    digest = hashlib.sha256()
    length = 0
    with wheel.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
            length += len(chunk)
    if length != release.length or digest.hexdigest() != release.sha256:
        raise VerificationError(
            f"{release.metadata.filename} is not the file the registry signed (sha256 {digest.hexdigest()[:16]}..., "
            f"{length} bytes; signed: {release.sha256[:16]}..., {release.length} bytes): it was tampered with. "
            "Nothing was installed."
        )


def verify_extension(
    release: Release, wheel: Path, publishers: PublisherDirectory, policy: PermissionPolicy
) -> tuple[PublisherSignature, WheelInfo]:
    """The publisher's signature on ``wheel`` once every check passed; VerificationError saying which failed."""
    check_file(release, wheel)
    metadata = release.metadata
    name = metadata.filename
    signature = metadata.signature
    if signature is None:
        raise VerificationError(
            f"{name} has no publisher signature on the registry, so nothing says who published it; not installing it."
            " Its publisher signs it with `symphony ext publish`."
        )
    statement = signature.statement
    record = publishers.publishers.get(statement.publisher)
    if record is None:
        raise VerificationError(f"{name} is signed by {statement.publisher!r}, whom the registry does not know")
    if signature.key in record.revoked:
        raise VerificationError(
            f"{name} is signed with key {key_id(signature.key)} of {statement.publisher!r}, which the registry has "
            "revoked; a release signed with it is not trusted. Ask the publisher to sign it with a current key."
        )
    verify_signature(signature, record.keys)
    info = read_wheel(wheel, filename=name)
    mismatches = [
        what
        for what, signed, actual in (
            ("sha256", statement.sha256, info.sha256),
            ("filename", statement.filename, name),
            ("distribution", statement.distribution, info.distribution),
            ("version", statement.version, info.version),
            ("manifest sha256", statement.manifest_sha256, info.manifest_sha256),
            ("manifest sha256 in the registry's metadata", statement.manifest_sha256, metadata.manifest_sha256),
        )
        if signed != actual
    ]
    if mismatches:
        raise VerificationError(
            f"{statement.publisher!r} signed another file than {name} (its {', '.join(mismatches)} differ): "
            "the wheel or its manifest was altered after signing. Nothing was installed."
        )
    if info.publisher != statement.publisher:
        raise VerificationError(
            f"{name}'s manifest names publisher {info.publisher!r}, but the signature is by {statement.publisher!r}"
        )
    pinned = policy.publisher_keys.get(statement.publisher)
    if pinned and signature.key not in pinned:
        raise VerificationError(
            f"{name} is signed by {statement.publisher!r} with key {key_id(signature.key)}, but the distribution's "
            f"policy pins their keys to {', '.join(key_id(key) for key in pinned)} (permissions.publisher_keys); "
            "not installing it."
        )
    return signature, info


def check_name(extension: str, distribution: str, publisher: str | None, installed: Snapshot) -> None:
    """Refuse ``extension`` when another distribution, or another publisher, already provides that name here."""
    current = installed.extensions.get(extension)
    if current is None:
        return
    if current.distribution != distribution:
        raise VerificationError(
            f"Extension name {extension!r} is already provided by {current.distribution} {current.version}; "
            f"{distribution} would take it over (name squatting). Uninstall {current.distribution} first "
            f"(`symphony ext uninstall {extension}`) if you mean to replace it."
        )
    if current.publisher != publisher:
        raise VerificationError(
            f"Extension {extension!r} is installed from {distribution} published by {current.publisher!r}; the "
            f"registry's release is published by {publisher!r}. Not replacing one publisher's extension with "
            "another's; uninstall it first if you mean to."
        )
