"""Finding an installed extension's manifest without importing any of its code.

Convention: a distribution declares ``[project.entry-points."symphony.extensions"]``
``<extension name> = "<package>"`` and ships ``symphony-extension.toml`` at the
root of that package (``<package>`` may be dotted).  The package's directory is
found with ``importlib.machinery.PathFinder.find_spec``, which locates a
package on the path without executing its ``__init__``; parent packages of a
dotted name are searched through their ``submodule_search_locations`` rather
than imported.  Each part is looked up by its own name: PathFinder's spec of a
dotted namespace package (a directory without ``__init__.py``) looks its parent
up in ``sys.modules``, where nothing was imported.
"""

from __future__ import annotations

import os
import sys
from importlib.machinery import ModuleSpec, NamespaceLoader, PathFinder
from pathlib import Path

from symphony.hookspecs import MANIFEST_FILE

__all__ = ["ENTRY_POINT_GROUP", "locate_manifest", "package_directory"]

#: The entry-point group extensions declare themselves in.
ENTRY_POINT_GROUP = "symphony.extensions"


def _locations(spec: ModuleSpec, search: list[str]) -> list[str]:
    """The directories of the package ``spec`` found on ``search``.

    A namespace portion's are the directories of its name on ``search`` (PathFinder
    found no regular package or module there, or the spec would not be a namespace).
    """
    if isinstance(spec.loader, NamespaceLoader):
        return [path for entry in search if os.path.isdir(path := os.path.join(entry, spec.name))]
    return list(spec.submodule_search_locations or ())


def _find(parts: list[str], paths: list[str]) -> Path | None:
    search = paths
    for part in parts:
        # By its last name only: a dotted namespace spec reads its parent from sys.modules (KeyError).
        spec = PathFinder.find_spec(part, search)
        if spec is None or spec.submodule_search_locations is None:
            return None  # missing, or a plain module: a manifest needs a package directory
        search = _locations(spec, search)
    return Path(search[0]) if search else None


def package_directory(package: str, search: list[str] | None = None) -> Path | None:
    """The directory of ``package`` (dotted names too), searched on ``search`` then ``sys.path``; never imported."""
    parts = package.split(".")
    if not all(part.isidentifier() for part in parts):
        return None
    for paths in (search, sys.path):
        if paths and (found := _find(parts, list(paths))) is not None:
            return found
    return None


def locate_manifest(package: str, distribution_location: str | None = None) -> Path | None:
    """The manifest of the extension package ``package``, looked for first beside the distribution's metadata."""
    search = [str(Path(distribution_location).parent)] if distribution_location else None
    directory = package_directory(package, search)
    if directory is None:
        return None
    candidate = directory / MANIFEST_FILE
    return candidate if candidate.is_file() else None
