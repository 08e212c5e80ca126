"""Named locations (``config``, ``cache``, ``data``, ``workspace``, ``temp``) resolved per extension.

Each extension gets its own ``config``, ``cache``, ``data`` and ``temp``
directory, so ``file:write:data`` lets it write its own data and nobody
else's; ``workspace`` is the user's project directory, shared by all.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from symphony.hookspecs import NAMED_LOCATIONS

if TYPE_CHECKING:
    from .._settings import Settings

__all__ = ["LocationResolver"]


class LocationResolver:
    """Maps ``(extension, location)`` to an absolute directory (which need not exist yet)."""

    def __init__(
        self,
        *,
        data_dir: Path,
        cache_dir: Path,
        config_dir: Path | None = None,
        workspace: Path | None = None,
        temp_dir: Path | None = None,
    ) -> None:
        xdg_config = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
        self._roots = {
            "config": (config_dir or xdg_config / "symphony") / "extensions",
            "cache": cache_dir / "extensions",
            "data": data_dir / "extensions",
            "temp": temp_dir or Path(tempfile.gettempdir()) / f"symphony-{os.getuid()}",
        }
        self._workspace = workspace

    @classmethod
    def from_settings(cls, settings: Settings, *, workspace: Path | None = None) -> LocationResolver:
        return cls(data_dir=settings.data_dir, cache_dir=settings.cache_dir, workspace=workspace)

    @property
    def workspace(self) -> Path:
        """The workspace given, else the current directory at the time of asking."""
        return self._workspace or Path.cwd()

    def resolve(self, extension: str, location: str) -> Path:
        """The directory ``location`` names for ``extension``; ValueError for an unknown name."""
        if location == "workspace":
            return self.workspace
        if location not in self._roots:
            raise ValueError(
                f"Unknown named location {location!r}; the named locations are {', '.join(NAMED_LOCATIONS)}."
            )
        return self._roots[location] / extension

    def locations(self, extension: str) -> dict[str, Path]:
        """Every named location of ``extension``."""
        return {name: self.resolve(extension, name) for name in NAMED_LOCATIONS}
