"""The builtin artifact store: content-addressed, chunked, deduplicated and verified (see docs/artifacts.md)."""

from __future__ import annotations

from .errors import ArtifactCorruptError, WrongKeyError
from .store import LocalArtifactStore

__all__ = ["ArtifactCorruptError", "LocalArtifactStore", "WrongKeyError"]
