"""The builtin artifact store: content-addressed, chunked, deduplicated and verified (see docs/artifacts.md)."""

from __future__ import annotations

from .errors import ArtifactCorruptError, WrongKeyError
from .options import StoreOptions
from .store import ArtifactStore, GcReport, Problem, StoreStats

__all__ = [
    "ArtifactCorruptError",
    "ArtifactStore",
    "GcReport",
    "Problem",
    "StoreOptions",
    "StoreStats",
    "WrongKeyError",
]
