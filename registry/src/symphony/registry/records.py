"""What the registry's signed metadata says about each release and publisher: the server writes it, clients read it.

Every wheel on the index is a TUF target ``packages/<filename>`` in one of the
hash-bin roles (PEP 458); its ``custom`` field holds ``{"symphony":
ReleaseMetadata}``, so the manifest a user consents to is the one the
registry signed, and the catalogue never downloads a wheel to know it.  The
publishers and their keys are the target ``publishers.json`` of the top-level
targets role.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from symphony.hookspecs import Base, PublisherSignature, RegistryError

__all__ = [
    "PACKAGES_PREFIX",
    "decode_release",
    "encode_release",
    "PUBLISHERS_TARGET",
    "PublisherDirectory",
    "PublisherRecord",
    "Release",
    "ReleaseMetadata",
]

#: Target paths of wheels: ``packages/<filename>``, also where the index serves them.
PACKAGES_PREFIX: Final = "packages/"
#: The target path of the publisher directory (a PublisherDirectory, JSON).
PUBLISHERS_TARGET: Final = "publishers.json"


class PublisherRecord(Base, frozen=True):
    """A publisher's current keys, and the ones revoked (a signature by those is refused)."""

    keys: tuple[str, ...]
    revoked: tuple[str, ...] = ()


class PublisherDirectory(Base, frozen=True):
    """Every publisher the registry knows, by name (the name in their manifests' ``publisher``)."""

    publishers: dict[str, PublisherRecord] = msgspec.field(default_factory=dict)


class ReleaseMetadata(Base, frozen=True):
    """One uploaded file, as the registry read it at upload (``custom.symphony`` of its target).

    ``extension`` and ``manifest`` are None for a plain library on the index
    (an extension's dependency).  ``manifest`` is the TOML document as data;
    ``manifest_sha256`` is the digest of its bytes inside the wheel, which a
    publisher's signature covers.
    """

    distribution: str  # normalised
    version: str
    filename: str
    uploaded_at: float
    extension: str | None = None
    manifest: dict[str, Any] | None = None
    manifest_sha256: str | None = None
    requires_python: str | None = None
    requires_dist: tuple[str, ...] = ()
    yanked: bool = False
    yanked_reason: str | None = None
    signature: PublisherSignature | None = None


class Release(Base, frozen=True):
    """A release as a client sees it: the signed metadata, the target's digest and size, and whether it fits here."""

    metadata: ReleaseMetadata
    target_path: str
    sha256: str
    length: int
    compatible: bool = True
    incompatible_reason: str | None = None  # e.g. "needs Symphony API ^2.0; this host has 1.0"


def encode_release(metadata: ReleaseMetadata) -> dict[str, Any]:
    """The ``custom["symphony"]`` of a release's TUF target: canonical JSON has no floats, so the wire form differs.

    TUF signs canonical JSON, which cannot encode a float, and manifests hold
    floats (``timeout = 5.0``): the manifest travels as its JSON text and
    ``uploaded_at`` as whole seconds.  :func:`decode_release` undoes it.
    """
    wire: dict[str, Any] = msgspec.to_builtins(metadata)
    wire["uploaded_at"] = int(metadata.uploaded_at)
    if metadata.manifest is not None:
        wire["manifest"] = msgspec.json.encode(metadata.manifest).decode("utf-8")
    return wire


_WIRE_DECODER = msgspec.json.Decoder(dict[str, Any])


def decode_release(wire: Any) -> ReleaseMetadata:
    """The ReleaseMetadata of a target's ``custom["symphony"]``; RegistryError for a malformed one."""
    try:
        if not isinstance(wire, dict):
            raise msgspec.ValidationError(f"Expected `object`, got `{type(wire).__name__}`")
        manifest = wire.get("manifest")
        if isinstance(manifest, str):
            wire = {**wire, "manifest": _WIRE_DECODER.decode(manifest)}
        return msgspec.convert(wire, ReleaseMetadata)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise RegistryError(f"a release's signed metadata is malformed: {error}") from None
