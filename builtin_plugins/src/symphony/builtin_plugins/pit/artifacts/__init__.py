"""The builtin artifact store: content-addressed, chunked, deduplicated and verified (see docs/artifacts.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ArtifactCorruptError, WrongKeyError
from .options import StoreOptions

if TYPE_CHECKING:
    from .store import ArtifactStore, GcReport, Problem, StoreStats

_FROM_STORE = frozenset({"ArtifactStore", "GcReport", "Problem", "StoreStats"})


def __getattr__(name: str) -> Any:
    """The store's names, imported on first use: loading the plugin must not import SQLAlchemy and Tantivy."""
    if name in _FROM_STORE:
        from . import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ArtifactCorruptError",
    "ArtifactStore",
    "GcReport",
    "Problem",
    "StoreOptions",
    "StoreStats",
    "WrongKeyError",
]
