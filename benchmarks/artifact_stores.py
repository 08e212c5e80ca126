"""The artifact store the ``artifact_*`` benchmarks measure (a helper, not a benchmark)."""

from __future__ import annotations

import os
from pathlib import Path

from symphony.builtin_plugins.pit.artifacts import ArtifactStore
from symphony.builtin_plugins.pit.artifacts.crypto import AesGcmSealer

__all__ = ["open_store"]


def open_store(root: Path, *, encrypted: bool = False) -> ArtifactStore:
    """A fresh builtin store in ``root`` with default options, sealing with AES-256-GCM under a random key if asked."""
    return ArtifactStore(root, sealer=AesGcmSealer(os.urandom(32)) if encrypted else None)
