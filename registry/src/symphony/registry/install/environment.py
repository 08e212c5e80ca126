"""What is installed in the environment an extension goes into, asked of that environment's own interpreter.

The registry never imports the host: it runs the target interpreter once with
a small script that lists the installed distributions and, for each
``symphony.extensions`` entry point, the manifest found the way the host
finds it (the package's directory beside the distribution, never imported).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from packaging.utils import canonicalize_name

from symphony.hookspecs import RegistryError

__all__ = ["InstalledDistribution", "InstalledExtension", "Snapshot", "inspect_environment"]

_TIMEOUT: Final = 120.0
_SCRIPT: Final = r"""
import hashlib, json, sys, tomllib
from importlib import metadata
from importlib.machinery import PathFinder
from pathlib import Path

def package_dir(package, search):
    for part in package.split("."):
        spec = PathFinder.find_spec(part, search)
        if spec is None or spec.submodule_search_locations is None:
            return None
        search = list(spec.submodule_search_locations)
    return Path(search[0]) if search else None

dists, extensions = {}, {}
for dist in metadata.distributions():
    name = dist.metadata["Name"]
    location = str(getattr(dist, "_path", ""))
    if not name or name in dists:
        continue
    dists[name] = {"version": dist.version, "dist_info": location}
    for ep in dist.entry_points.select(group="symphony.extensions"):
        entry = {"distribution": name, "version": dist.version, "dist_info": location, "manifest_path": None,
                 "manifest_sha256": None, "manifest": None}
        directory = package_dir(ep.value, [str(Path(location).parent)]) if location else None
        manifest = directory / "symphony-extension.toml" if directory else None
        if manifest is not None and manifest.is_file():
            data = manifest.read_bytes()
            entry["manifest_path"] = str(manifest)
            entry["manifest_sha256"] = hashlib.sha256(data).hexdigest()
            try:
                entry["manifest"] = tomllib.loads(data.decode("utf-8"))
            except (UnicodeDecodeError, tomllib.TOMLDecodeError):
                pass
        extensions.setdefault(ep.name, entry)
json.dump({"distributions": dists, "extensions": extensions}, sys.stdout, default=str)
"""


@dataclass(frozen=True)
class InstalledDistribution:
    name: str  # normalised
    version: str
    dist_info: Path


@dataclass(frozen=True)
class InstalledExtension:
    """An installed extension name, who provides it, and its manifest (None if unreadable)."""

    name: str
    distribution: str  # normalised
    version: str
    dist_info: Path
    manifest: dict[str, Any] | None
    manifest_sha256: str | None

    @property
    def publisher(self) -> str | None:
        info = (self.manifest or {}).get("extension") or {}
        who = info.get("publisher") or info.get("author")
        return who if isinstance(who, str) else None


@dataclass(frozen=True)
class Snapshot:
    """The distributions and extensions installed in one environment, at one moment."""

    distributions: dict[str, InstalledDistribution]
    extensions: dict[str, InstalledExtension]


def inspect_environment(python: Path) -> Snapshot:
    """Ask ``python`` what it has installed; RegistryError when it cannot be run."""
    try:
        result = subprocess.run(
            [str(python), "-I", "-c", _SCRIPT],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RegistryError(f"Cannot ask {python} what is installed: {error}") from None
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise RegistryError(f"Cannot ask {python} what is installed (exit status {result.returncode}):\n{tail}")
    data = json.loads(result.stdout)
    distributions: dict[str, InstalledDistribution] = {
        canonicalize_name(name): InstalledDistribution(canonicalize_name(name), d["version"], Path(d["dist_info"]))
        for name, d in data["distributions"].items()
    }
    extensions = {
        name: InstalledExtension(
            name=name,
            distribution=canonicalize_name(e["distribution"]),
            version=e["version"],
            dist_info=Path(e["dist_info"]),
            manifest=e["manifest"],
            manifest_sha256=e["manifest_sha256"],
        )
        for name, e in data["extensions"].items()
    }
    return Snapshot(distributions=distributions, extensions=extensions)
