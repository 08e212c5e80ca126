"""The artifact store the ``artifact_*`` benchmarks measure, and the bytes it occupies (a helper, not a benchmark)."""

from __future__ import annotations

import os
from pathlib import Path

from symphony.builtin_plugins.pit.artifacts import LocalArtifactStore

__all__ = ["disk_bytes", "open_store"]


def open_store(root: Path) -> LocalArtifactStore:
    """A fresh builtin store in ``root``, as the plugin would open it with default options."""
    return LocalArtifactStore(root)


def disk_bytes(root: Path) -> int:
    """The size of every file under ``root``: what the store costs on disk, index and all."""
    return sum(os.path.getsize(Path(folder) / name) for folder, _, names in os.walk(root) for name in names)
