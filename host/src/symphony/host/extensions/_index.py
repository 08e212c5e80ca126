"""The manifest index: every installed extension's parsed manifest, kept between runs.

Listing 10,000 extensions must not parse 10,000 TOML files each time.  The
``symphony.extensions`` entry points come from the host's entry-point index
(``symphony.host._index``, itself cached and stamped by ``entry_points.txt``
and ``sys.path`` mtimes); each extension's parsed manifest is kept with the
modification time and size of its distribution's ``RECORD`` and of the
manifest file (entries stay encoded until used, so that :func:`find_extension`
decodes one manifest, not all).  A listing re-stats those files and parses only
the extensions whose stamps changed; removed distributions drop out because
they are no longer in the entry-point index.  The file is
``<cache_dir>/extensions-<environment>.msgpack``, written atomically.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final, Literal

import msgspec

from symphony.hookspecs import MANIFEST_FILE, Manifest, ManifestProblem

from .._files import write_cache
from .._index import DistributionEntry, IndexedEntryPoint, _environment_key, load_index
from ._check import check_manifest
from ._discovery import ENTRY_POINT_GROUP, package_directory

__all__ = [
    "MAX_MANIFEST_BYTES",
    "FileStamp",
    "InstalledExtension",
    "Listing",
    "clear",
    "find_extension",
    "list_extensions",
]

_log = logging.getLogger(__name__)

_FORMAT: Final = 2
#: Larger than any real manifest; a larger one is not read (listing must not load a huge file into memory).
MAX_MANIFEST_BYTES: Final = 1024 * 1024
#: How much of an unexpected error's message a broken extension's problem keeps.
_MAX_REASON: Final = 300
#: pip rewrites RECORD on every install (a new version also moves the dist-info directory).
_METADATA_FILES: Final = ("RECORD",)


class FileStamp(msgspec.Struct, frozen=True, array_like=True):
    path: str
    mtime_ns: int
    size: int


class InstalledExtension(msgspec.Struct, frozen=True, kw_only=True):
    """One ``symphony.extensions`` entry point and what its manifest says (None if it has problems).

    ``broken``: reading it failed in a way no manifest check foresaw (its one
    problem says how); it is listed, and read again next time, never reused.
    """

    name: str
    package: str
    distribution: str
    version: str
    location: str
    manifest_path: str | None
    manifest: Manifest | None
    problems: tuple[ManifestProblem, ...] = ()
    stamps: tuple[FileStamp, ...] = ()
    broken: bool = False

    @property
    def status(self) -> Literal["ok", "invalid", "broken"]:
        if self.broken:
            return "broken"
        return "ok" if self.manifest is not None and not self.problems else "invalid"


class _IndexFile(msgspec.Struct, frozen=True):
    """Entries stay encoded until used, so that finding one extension decodes one manifest."""

    format: int
    keys: tuple[tuple[str, str, str], ...]
    entries: tuple[msgspec.Raw, ...]


class Listing(msgspec.Struct, frozen=True, kw_only=True):
    """The installed extensions in ``sys.path`` order.

    ``parsed`` manifests were read from disk; ``reused`` ones came from the index.
    """

    extensions: tuple[InstalledExtension, ...]
    parsed: int
    reused: int

    def get(self, name: str) -> InstalledExtension | None:
        return next((e for e in self.extensions if e.name == name), None)


def _stamp(path: str) -> FileStamp:
    try:
        info = os.stat(path)
    except OSError:
        return FileStamp(path, -1, -1)
    return FileStamp(path, info.st_mtime_ns, info.st_size)


def _is_current(entry: InstalledExtension) -> bool:
    return bool(entry.stamps) and all(_stamp(s.path) == s for s in entry.stamps)


def _read_isolated(dist: DistributionEntry, ep: IndexedEntryPoint) -> InstalledExtension:
    """:func:`_read`, with any failure making this one extension broken rather than stopping the listing."""
    try:
        return _read(dist, ep)
    except Exception as error:  # one installed extension must never stop the host or the others
        _log.debug("extension %r of %s cannot be read", ep.name, dist.name, exc_info=True)  # for its author
        reason = f"{type(error).__name__}: {error}"
        problem = ManifestProblem(
            path="",
            expected="an installed extension the host can read",
            found=reason if len(reason) <= _MAX_REASON else reason[:_MAX_REASON] + "...",
            fix=f"Reinstall {dist.name}, or report this to its author; the other extensions are not affected.",
        )
        return _installed(dist, ep, manifest_path=None, manifest=None, problems=(problem,), broken=True)


def _installed(dist: DistributionEntry, ep: IndexedEntryPoint, **known: Any) -> InstalledExtension:
    return InstalledExtension(
        name=ep.name, package=ep.value, distribution=dist.name, version=dist.version, location=dist.location, **known
    )


def _read(dist: DistributionEntry, ep: IndexedEntryPoint) -> InstalledExtension:
    """Locate and check one extension's manifest (the only place a manifest is parsed)."""
    entry = functools.partial(_installed, dist, ep)

    metadata = tuple(_stamp(os.path.join(dist.location, f)) for f in _METADATA_FILES)
    if not all(part.isidentifier() for part in ep.value.split(".")):
        problem = ManifestProblem(
            path="",
            expected=f"an entry point {ep.name} = '<package>' naming the package that holds symphony-extension.toml",
            found=repr(ep.value),
            fix=f'Fix [project.entry-points."{ENTRY_POINT_GROUP}"] in {dist.name}\'s pyproject.toml.',
        )
        return entry(manifest_path=None, manifest=None, problems=(problem,), stamps=metadata)
    directory = package_directory(ep.value, [str(Path(dist.location).parent)])
    path = directory / MANIFEST_FILE if directory is not None else None
    if path is None or not path.is_file():
        problem = ManifestProblem(
            path="",
            expected=f"symphony-extension.toml inside package {ep.value!r}",
            found="no such package" if directory is None else f"no such file in {directory}",
            fix=f"Ship the manifest as package data of {ep.value!r} in {dist.name}.",
        )
        # Stamped too, so that an unchanged broken package is not looked at again, and adding the file is seen.
        stamps = metadata if path is None else (*metadata, _stamp(str(path)))
        return entry(manifest_path=None, manifest=None, problems=(problem,), stamps=stamps)
    stamps = (*metadata, _stamp(str(path)))
    if stamps[-1].size > MAX_MANIFEST_BYTES:
        problem = ManifestProblem(
            path="",
            expected=f"a manifest of at most {MAX_MANIFEST_BYTES // 1024} KiB",
            found=f"{stamps[-1].size} bytes in {path}",
            fix=f"Ship the manifest of {ep.value!r} in {dist.name} without what it does not need.",
        )
        return entry(manifest_path=str(path), manifest=None, problems=(problem,), stamps=stamps)
    manifest, problems = check_manifest(path, installed=True)
    if manifest is not None and manifest.name != ep.name:
        problems.append(
            ManifestProblem(
                path="extension.name",
                expected=f"{ep.name!r}, the entry-point name in {dist.name}",
                found=repr(manifest.name),
                fix="Make the entry-point name and [extension] name the same.",
            )
        )
    return entry(manifest_path=str(path), manifest=manifest, problems=tuple(problems), stamps=stamps)


def _cache_file(cache_dir: Path) -> Path:
    return cache_dir / f"extensions-{_environment_key(sys.path)}.msgpack"


_decoder = msgspec.msgpack.Decoder(_IndexFile)
_entry_decoder = msgspec.msgpack.Decoder(InstalledExtension)
_Key = tuple[str, str, str]


def _previous(cache_file: Path | None) -> dict[_Key, msgspec.Raw]:
    if cache_file is None:
        return {}
    try:
        index = _decoder.decode(cache_file.read_bytes())
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return {}
    if index.format != _FORMAT or len(index.keys) != len(index.entries):
        return {}
    return dict(zip(index.keys, index.entries, strict=True))


def _reuse(raw: msgspec.Raw | None, dist: DistributionEntry) -> InstalledExtension | None:
    """The cached entry if it is still what is installed, else None."""
    if raw is None:
        return None
    try:
        cached = _entry_decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return cached if cached.version == dist.version and _is_current(cached) else None


def _unique(extensions: Iterable[InstalledExtension]) -> tuple[InstalledExtension, ...]:
    """The first extension of a name wins (``sys.path`` order); later ones are reported, not dropped."""
    owners: dict[str, str] = {}
    result = []
    for found in extensions:
        entry = found
        owner = owners.setdefault(entry.name, entry.distribution)
        if owner != entry.distribution:
            clash = ManifestProblem(
                path="extension.name",
                expected="a name no other installed extension uses",
                found=f"{entry.name!r}, already provided by {owner}",
                fix=f"Uninstall one of {owner} and {entry.distribution}.",
            )
            entry = msgspec.structs.replace(entry, problems=(*entry.problems, clash))
        result.append(entry)
    return tuple(result)


def list_extensions(cache_dir: Path | None, *, use_cache: bool = True) -> Listing:
    """Every installed extension with its manifest; unchanged ones come from the index without parsing."""
    entry_points = load_index(cache_dir, use_cache=use_cache).group(ENTRY_POINT_GROUP)
    cache_file = _cache_file(cache_dir) if use_cache and cache_dir is not None else None
    previous = _previous(cache_file)
    found: list[InstalledExtension] = []
    keys: list[_Key] = []
    raws: list[msgspec.Raw] = []
    parsed = 0
    for dist, ep in entry_points:
        key = (dist.location, ep.name, ep.value)
        raw = previous.get(key)
        entry = _reuse(raw, dist)
        if entry is None or raw is None:
            entry, raw = _read_isolated(dist, ep), None
            parsed += 1
        found.append(entry)
        keys.append(key)
        raws.append(raw if raw is not None else msgspec.Raw(msgspec.msgpack.encode(entry)))
    if cache_file is not None and (parsed or len(previous) != len(found)):
        write_cache(cache_file, _IndexFile(format=_FORMAT, keys=tuple(keys), entries=tuple(raws)))
    return Listing(extensions=_unique(found), parsed=parsed, reused=len(found) - parsed)


def find_extension(cache_dir: Path | None, name: str, *, use_cache: bool = True) -> InstalledExtension | None:
    """The installed extension ``name`` (the first on ``sys.path``), decoding or parsing only its manifest."""
    entry_points = load_index(cache_dir, use_cache=use_cache).group(ENTRY_POINT_GROUP)
    match = next(((dist, ep) for dist, ep in entry_points if ep.name == name), None)
    if match is None:
        return None
    dist, ep = match
    previous = _previous(_cache_file(cache_dir) if use_cache and cache_dir is not None else None)
    return _reuse(previous.get((dist.location, ep.name, ep.value)), dist) or _read_isolated(dist, ep)


def clear(cache_dir: Path) -> int:
    """Delete every cached manifest index in ``cache_dir``; return how many files were removed."""
    removed = 0
    for path in cache_dir.glob("extensions-*.msgpack"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed
