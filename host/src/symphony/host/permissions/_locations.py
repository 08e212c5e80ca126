"""Named locations (``config``, ``cache``, ``data``, ``workspace``, ``temp``) resolved per extension.

Each extension gets its own ``config``, ``cache``, ``data`` and ``temp``
directory, so ``file:write:data`` lets it write its own data and nobody
else's; ``workspace`` is the user's project directory, shared by all.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from symphony.hookspecs import NAMED_LOCATIONS, ConfigurationError

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
            "temp": temp_dir or _default_temp_root(),
        }
        self._workspace = workspace
        self._temp_unchecked = temp_dir is None

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
        if location == "temp" and self._temp_unchecked:
            _make_private(self._roots["temp"])
            self._temp_unchecked = False
        return self._roots[location] / extension

    def locations(self, extension: str) -> dict[str, Path]:
        """Every named location of ``extension``."""
        return {name: self.resolve(extension, name) for name in NAMED_LOCATIONS}


def _default_temp_root() -> Path:
    """The user's runtime directory when the session has one, else a directory of theirs in the shared temp."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return Path(runtime) / "symphony"
    return Path(tempfile.gettempdir()) / f"symphony-{os.getuid()}"


def _make_private(root: Path) -> None:
    """Create ``root`` for this user alone, or refuse one that is not theirs alone.

    In a shared temporary directory another local user could create it first, or plant a
    symlink there, and then read or plant what extensions keep in ``temp``.
    """
    with contextlib.suppress(FileExistsError):
        os.mkdir(root, 0o700)
    info = os.lstat(root)
    owner = info.st_uid == os.getuid()
    if stat.S_ISDIR(info.st_mode) and owner and not info.st_mode & 0o022:
        os.chmod(root, 0o700)  # made by an older version: others could look, never plant
        return
    if not stat.S_ISDIR(info.st_mode) or not owner or info.st_mode & 0o022:
        what = (
            "a symlink"
            if stat.S_ISLNK(info.st_mode)
            else "not a directory"
            if not stat.S_ISDIR(info.st_mode)
            else f"owned by uid {info.st_uid}"
            if not owner
            else f"writable by others (mode {stat.S_IMODE(info.st_mode):o})"
        )
        raise ConfigurationError(
            f"The extensions' temporary directory {root} is {what}, so others could read or plant files in"
            f" it. Remove it (if you did not make it, someone else on this machine did) and run again;"
            f" Symphony then creates it for you alone (mode 700)."
        )
