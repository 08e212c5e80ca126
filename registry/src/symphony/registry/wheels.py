"""Reading a wheel without installing it: its core metadata and its extension manifest.

The manifest is found the way the host finds it once installed: the
``symphony.extensions`` entry point in ``entry_points.txt`` names a package,
and ``symphony-extension.toml`` sits in that package's directory.  Every read
is bounded (a wheel is untrusted input at upload), and a file that is not a
wheel is a :class:`WheelError` saying why.
"""

from __future__ import annotations

import configparser
import hashlib
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path
from typing import Any, BinaryIO, Final

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from symphony.hookspecs import MANIFEST_FILE, PublisherSignature, RegistryError, ReleaseStatement, loads_toml

from .records import ReleaseMetadata

__all__ = ["ENTRY_POINT_GROUP", "WheelError", "WheelInfo", "publisher_of", "read_wheel", "sha256_file"]

#: The entry point group naming an extension's package (the host's discovery group).
ENTRY_POINT_GROUP: Final = "symphony.extensions"
_MAX_METADATA: Final = 1024 * 1024
_MAX_ENTRY_POINTS: Final = 256 * 1024
_MAX_MANIFEST: Final = 1024 * 1024
_MAX_MEMBERS: Final = 100_000


class WheelError(RegistryError):
    """A file is not a readable wheel, or its extension manifest is missing or malformed."""


@dataclass(frozen=True, slots=True)
class WheelInfo:
    """What the registry needs of a wheel: identity, digest, dependencies and the manifest it carries."""

    filename: str
    distribution: str  # normalised
    version: str
    sha256: str
    length: int
    requires_python: str | None = None
    requires_dist: tuple[str, ...] = ()
    extension: str | None = None
    manifest: dict[str, Any] | None = None
    manifest_bytes: bytes | None = field(default=None, repr=False)
    manifest_sha256: str | None = None

    @property
    def publisher(self) -> str | None:
        """The manifest's ``[extension] publisher``, else its ``author``; None for a plain library."""
        return publisher_of(self.manifest)

    def statement(self, publisher: str | None = None) -> ReleaseStatement:
        """The statement a publisher signs for this wheel (the manifest's publisher unless given)."""
        who = publisher or self.publisher
        if who is None or self.manifest_sha256 is None:
            raise WheelError(f"{self.filename} carries no extension manifest naming a publisher; nothing to sign")
        return ReleaseStatement(
            publisher=who,
            distribution=self.distribution,
            version=self.version,
            filename=self.filename,
            sha256=self.sha256,
            manifest_sha256=self.manifest_sha256,
        )

    def release_metadata(self, uploaded_at: float, signature: PublisherSignature | None = None) -> ReleaseMetadata:
        """What the index signs about this wheel (its TUF target's ``custom``), as uploaded at ``uploaded_at``."""
        return ReleaseMetadata(
            distribution=self.distribution,
            version=self.version,
            filename=self.filename,
            uploaded_at=uploaded_at,
            extension=self.extension,
            manifest=self.manifest,
            manifest_sha256=self.manifest_sha256,
            requires_python=self.requires_python,
            requires_dist=self.requires_dist,
            signature=signature,
        )


def publisher_of(manifest: Mapping[str, Any] | None) -> str | None:
    """The manifest's ``[extension] publisher``, else its ``author``: the name a release's signature must be by."""
    info = (manifest or {}).get("extension")
    if not isinstance(info, dict):
        return None
    name = info.get("publisher") or info.get("author")
    return name if isinstance(name, str) else None


def sha256_file(handle: BinaryIO) -> tuple[str, int]:
    """The hex SHA-256 and length of an open file, read in chunks from its start."""
    handle.seek(0)
    digest = hashlib.sha256()
    length = 0
    while chunk := handle.read(1024 * 1024):
        digest.update(chunk)
        length += len(chunk)
    handle.seek(0)
    return digest.hexdigest(), length


def read_wheel(path: Path, *, filename: str | None = None) -> WheelInfo:
    """Read the wheel at ``path`` (named ``filename`` when stored under another name)."""
    name = filename or path.name
    try:
        distribution, version = parse_wheel_filename(name)[:2]
    except InvalidWheelFilename as error:
        raise WheelError(f"{name} is not a wheel file name: {error}") from None
    try:
        with path.open("rb") as handle:
            sha256, length = sha256_file(handle)
            with zipfile.ZipFile(handle) as archive:
                base = WheelInfo(
                    filename=name, distribution=str(distribution), version=str(version), sha256=sha256, length=length
                )
                return _read(archive, base)
    except zipfile.BadZipFile as error:
        raise WheelError(f"{name} is not a wheel: not a valid zip archive ({error})") from None
    except (OSError, EOFError, NotImplementedError, RuntimeError) as error:  # zipfile's failures on a damaged file
        raise WheelError(f"{name} is not a readable wheel: {error}") from None


def _member(archive: zipfile.ZipFile, member: str, limit: int, wheel: str) -> bytes:
    info = archive.getinfo(member)
    if info.file_size > limit:
        raise WheelError(f"{wheel}: {member} is {info.file_size} bytes; at most {limit} are read")
    with archive.open(info) as handle:
        data = handle.read(limit + 1)  # the declared size can lie: never read past the limit
    if len(data) > limit:
        raise WheelError(f"{wheel}: {member} is larger than {limit} bytes")
    return data


def _read(archive: zipfile.ZipFile, base: WheelInfo) -> WheelInfo:
    """``base`` (named from the file) completed from the archive's METADATA, entry points and manifest."""
    wheel, distribution, version = base.filename, base.distribution, base.version
    names = archive.namelist()
    if len(names) > _MAX_MEMBERS:
        raise WheelError(f"{wheel} has {len(names)} files; at most {_MAX_MEMBERS} are accepted")
    members = set(names)
    dist_infos = {name.split("/", 1)[0] for name in names if name.split("/", 1)[0].endswith(".dist-info")}
    with_metadata = [d for d in dist_infos if f"{d}/METADATA" in members]
    if len(with_metadata) != 1:
        raise WheelError(
            f"{wheel} should have exactly one .dist-info directory with a METADATA file; found {len(with_metadata)}"
        )
    dist_info = with_metadata[0]
    headers = BytesHeaderParser(policy=compat32).parsebytes(
        _member(archive, f"{dist_info}/METADATA", _MAX_METADATA, wheel)
    )
    meta_name, meta_version = headers.get("Name"), headers.get("Version")
    if meta_name is None or meta_version is None:
        raise WheelError(f"{wheel}: METADATA has no Name or Version")
    if canonicalize_name(meta_name) != canonicalize_name(distribution) or _norm(meta_version) != _norm(version):
        raise WheelError(
            f"{wheel}: METADATA says {meta_name} {meta_version}, the file name says {distribution} {version}"
        )
    common = replace(
        base,
        distribution=canonicalize_name(distribution),
        version=str(meta_version),
        requires_python=headers.get("Requires-Python"),
        requires_dist=tuple(str(value) for value in headers.get_all("Requires-Dist") or ()),
    )
    found = _extension_package(archive, dist_info, members, wheel)
    if found is None:
        return common
    extension, package = found
    manifest_path = _manifest_path(package, dist_info, members)
    if manifest_path is None:
        raise WheelError(
            f"{wheel}: entry point {extension!r} names package {package!r}, but the wheel has no "
            f"{package.replace('.', '/')}/{MANIFEST_FILE}"
        )
    raw = _member(archive, manifest_path, _MAX_MANIFEST, wheel)
    try:
        manifest = loads_toml(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise WheelError(f"{wheel}: {manifest_path} is not UTF-8 text") from None
    except ValueError as error:  # tomllib.TOMLDecodeError is a ValueError
        raise WheelError(f"{wheel}: {manifest_path} is not valid TOML: {error}") from None
    info = manifest.get("extension")
    name = info.get("name") if isinstance(info, dict) else None
    return replace(
        common,
        extension=name if isinstance(name, str) else extension,
        manifest=manifest,
        manifest_bytes=raw,
        manifest_sha256=hashlib.sha256(raw).hexdigest(),
    )


def _norm(version: str) -> str:
    from packaging.version import InvalidVersion, Version

    try:
        return str(Version(version))
    except InvalidVersion:
        return version


def _extension_package(
    archive: zipfile.ZipFile, dist_info: str, members: set[str], wheel: str
) -> tuple[str, str] | None:
    """``(entry point name, package)`` of the wheel's one extension, or None for a plain library."""
    member = f"{dist_info}/entry_points.txt"
    if member not in members:
        return None
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # entry point names keep their case
    try:
        parser.read_string(_member(archive, member, _MAX_ENTRY_POINTS, wheel).decode("utf-8"))
    except (configparser.Error, UnicodeDecodeError) as error:
        raise WheelError(f"{wheel}: entry_points.txt cannot be read: {error}") from None
    if not parser.has_section(ENTRY_POINT_GROUP):
        return None
    entries = list(parser.items(ENTRY_POINT_GROUP))
    if len(entries) != 1:
        raise WheelError(
            f"{wheel} declares {len(entries)} entry points in [{ENTRY_POINT_GROUP}]; "
            "a distribution carries one extension"
        )
    extension, target = entries[0]
    package = target.split(":", 1)[0].strip()
    if not package:
        raise WheelError(f"{wheel}: entry point {extension!r} in [{ENTRY_POINT_GROUP}] names no package")
    return extension, package


def _manifest_path(package: str, dist_info: str, members: set[str]) -> str | None:
    """Where the package's manifest is in the archive: at the top, or in the wheel's purelib/platlib data."""
    relative = f"{package.replace('.', '/')}/{MANIFEST_FILE}"
    data = dist_info.removesuffix(".dist-info") + ".data"
    for candidate in (relative, f"{data}/purelib/{relative}", f"{data}/platlib/{relative}"):
        if candidate in members:
            return candidate
    return None
