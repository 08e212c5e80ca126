"""Where ``symphony pool unload`` in one process leaves requests for the running host's pool."""

from __future__ import annotations

from pathlib import Path

__all__ = ["unload_requests"]


def unload_requests(snapshot: Path) -> Path:
    """The directory of unload requests (one empty file per model) beside the host's ``snapshot``."""
    return snapshot.parent / "unload"
