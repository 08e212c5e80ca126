"""Installed extensions' manifests, found as the host finds them (entry-point group ``symphony.extensions``,
``symphony-extension.toml`` in the named package) but read from the distribution's file list: nothing imported."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path, PurePosixPath
from typing import Final

import msgspec

from symphony.hookspecs import MANIFEST_FILE, Manifest, PermissionSyntaxError, format_permission

__all__ = ["Installed", "installed"]

GROUP: Final = "symphony.extensions"
#: A manifest larger than this is not read.
MAX_MANIFEST_BYTES: Final = 1_048_576


@dataclass(frozen=True)
class Installed:
    """One installed extension: its distribution, and its manifest or why it could not be read."""

    name: str
    distribution: str
    version: str
    manifest: Manifest | None
    error: str | None = None

    def declared(self) -> list[str]:
        """The capabilities its manifest asks for, as permission texts (as grants are written)."""
        if self.manifest is None:
            return []
        try:
            return [
                text
                for permission in self.manifest.capabilities.permissions()
                for text in format_permission(permission)
            ]
        except PermissionSyntaxError:
            return []


def _manifest_file(entry: EntryPoint) -> Path | None:
    if entry.dist is None:
        return None
    wanted = PurePosixPath(*entry.value.split(".")) / MANIFEST_FILE
    for file in entry.dist.files or ():
        if PurePosixPath(str(file)) == wanted:
            return Path(str(entry.dist.locate_file(file)))
    return None


def _read(entry: EntryPoint) -> Installed:
    dist = entry.dist
    distribution, version = (dist.name, dist.version) if dist is not None else ("", "")
    path = _manifest_file(entry)
    if path is None:
        return Installed(entry.name, distribution, version, None, f"no {MANIFEST_FILE} in package {entry.value!r}")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_MANIFEST_BYTES + 1)
        if len(data) > MAX_MANIFEST_BYTES:
            raise ValueError(f"larger than {MAX_MANIFEST_BYTES} bytes")
        return Installed(entry.name, distribution, version, msgspec.toml.decode(data, type=Manifest))
    except (OSError, ValueError, msgspec.DecodeError) as error:  # ValidationError is a DecodeError
        return Installed(entry.name, distribution, version, None, f"{path}: {error}")


def installed() -> dict[str, Installed]:
    """Every installed extension by name (the first distribution wins a name two declare)."""
    found: dict[str, Installed] = {}
    for entry in entry_points(group=GROUP):
        if entry.name not in found:
            found[entry.name] = _read(entry)
    return found
