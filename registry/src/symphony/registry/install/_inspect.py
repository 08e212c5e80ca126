"""What the running interpreter has installed; imported here, or run as a script by another interpreter.

Standard library only: the interpreter asked may be a fresh virtual
environment without Symphony.  Extensions come from the ``symphony.extensions``
entry points; only their distributions' metadata is read (reading every
distribution's METADATA costs half a second in a large environment).
Manifests are found as the host finds them (the entry point's package
directory beside the distribution), never imported.

As a script: ``python _inspect.py [NAME...]`` prints the JSON of
:func:`snapshot` for those distribution names.
"""

from __future__ import annotations

import contextlib
import json
import sys
import tomllib
from collections.abc import Iterable
from importlib import metadata
from importlib.machinery import PathFinder
from pathlib import Path
from typing import Any

#: As the host: a larger manifest is not read (it is reported by `symphony ext list`).
_MAX_MANIFEST_BYTES = 1024 * 1024


def _package_dir(package: str, search: list[str]) -> Path | None:
    for part in package.split("."):
        spec = PathFinder.find_spec(part, search)
        if spec is None or spec.submodule_search_locations is None:
            return None
        search = list(spec.submodule_search_locations)
    return Path(search[0]) if search else None


def _extension(ep: metadata.EntryPoint) -> dict[str, Any] | None:
    dist = ep.dist
    if dist is None:
        return None
    location = str(getattr(dist, "_path", ""))
    entry: dict[str, Any] = {
        "distribution": dist.name,
        "version": dist.version,
        "dist_info": location,
        "manifest": None,
    }
    directory = _package_dir(ep.value, [str(Path(location).parent)]) if location else None
    manifest = directory / "symphony-extension.toml" if directory else None
    if manifest is not None and manifest.is_file() and manifest.stat().st_size <= _MAX_MANIFEST_BYTES:
        with contextlib.suppress(UnicodeDecodeError, tomllib.TOMLDecodeError):
            entry["manifest"] = tomllib.loads(manifest.read_bytes().decode("utf-8"))
    return entry


def extensions() -> dict[str, Any]:
    """Every extension name (the first of a name wins, as in the host) with its distribution and manifest."""
    found: dict[str, Any] = {}
    for ep in metadata.entry_points(group="symphony.extensions"):
        if ep.name not in found and (entry := _extension(ep)) is not None:
            found[ep.name] = entry
    return found


def distributions(names: Iterable[str]) -> dict[str, Any]:
    """The versions of the distributions ``names`` that are installed."""
    found: dict[str, Any] = {}
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            dist = metadata.distribution(name)
            found[name] = {"version": dist.version}
    return found


def snapshot(names: Iterable[str] = ()) -> dict[str, Any]:
    """:func:`extensions` and :func:`distributions` of ``names``."""
    return {"distributions": distributions(names), "extensions": extensions()}


if __name__ == "__main__":
    json.dump(snapshot(sys.argv[1:]), sys.stdout, default=str)
