"""What is installed in the environment an extension goes into, asked of that environment's own interpreter.

The registry never imports the host: it asks the target interpreter (this
process when it is that one, else by running :mod:`._inspect` as a script,
which needs only the standard library) to list the installed distributions and, for each
``symphony.extensions`` entry point, the manifest found the way the host
finds it (the package's directory beside the distribution, never imported).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from packaging.utils import canonicalize_name

from symphony.hookspecs import RegistryError

from ..wheels import publisher_of
from . import _inspect

__all__ = ["InstalledDistribution", "InstalledExtension", "Snapshot", "inspect_environment"]

_TIMEOUT: Final = 120.0


def _is_this_interpreter(python: Path) -> bool:
    return Path(python).absolute() == Path(sys.executable).absolute()


def _own_snapshot(names: Sequence[str] = ()) -> dict[str, Any]:
    """Asked here: no interpreter start (an install asks twice)."""
    importlib.invalidate_caches()  # an install since the last look must be seen
    return _inspect.snapshot(names)


def _other_snapshot(python: Path, names: Sequence[str] = ()) -> dict[str, Any]:
    try:
        result = subprocess.run(
            [str(python), "-I", str(Path(_inspect.__file__)), *names],
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
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _ask(python: Path, names: Sequence[str] = ()) -> dict[str, Any]:
    return _own_snapshot(names) if _is_this_interpreter(python) else _other_snapshot(python, names)


@dataclass(frozen=True)
class InstalledDistribution:
    """A distribution already installed: a dependency that is present is kept, not fetched again."""

    name: str  # normalised
    version: str


@dataclass(frozen=True)
class InstalledExtension:
    """An installed extension name, who provides it, and its manifest (None if unreadable)."""

    name: str
    distribution: str  # normalised
    version: str
    dist_info: Path
    manifest: dict[str, Any] | None

    @property
    def publisher(self) -> str | None:
        return publisher_of(self.manifest)


@dataclass(frozen=True)
class Snapshot:
    """The extensions installed in one environment at one moment; distributions are looked up when asked."""

    python: Path
    extensions: dict[str, InstalledExtension]
    _distributions: dict[str, InstalledDistribution | None] = field(default_factory=dict, repr=False)

    def distribution(self, name: str) -> InstalledDistribution | None:
        """The installed distribution ``name`` (any spelling), or None."""
        key = canonicalize_name(name)
        if key not in self._distributions:
            if _is_this_interpreter(self.python):
                importlib.invalidate_caches()
                found = _inspect.distributions([key]).get(key)
            else:
                found = _other_snapshot(self.python, [key])["distributions"].get(key)
            self._distributions[key] = InstalledDistribution(key, found["version"]) if found else None
        return self._distributions[key]


def inspect_environment(python: Path) -> Snapshot:
    """What ``python`` has installed (asked in this process when it is that interpreter); RegistryError if unknown."""
    data = _ask(python)
    extensions = {
        name: InstalledExtension(
            name=name,
            distribution=canonicalize_name(e["distribution"]),
            version=e["version"],
            dist_info=Path(e["dist_info"]),
            manifest=e["manifest"],
        )
        for name, e in data["extensions"].items()
    }
    return Snapshot(python=python, extensions=extensions)
