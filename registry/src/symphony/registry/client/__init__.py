"""The registry client: a trusted index (TUF), its searchable catalogue, and resolving and downloading releases.

``open_index(data_dir)`` gives the configured index; ``symphony registry use``
pins an index's root metadata (the trust anchor) and ``symphony registry sync``
/ ``symphony ext search`` keep the catalogue current.  See
docs/registry-catalogue.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._config import DEFAULT_INDEX, IndexConfig, RegistryConfig, load_config

if TYPE_CHECKING:
    from ._catalogue import CatalogueState, SearchHit
    from ._index import Index, open_index
    from ._sync import SyncReport

#: Imported on first use: the catalogue (packaging, sqlite3) is not for a command that only reads the config.
_LAZY = {
    "CatalogueState": "._catalogue",
    "SearchHit": "._catalogue",
    "Index": "._index",
    "open_index": "._index",
    "SyncReport": "._sync",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(module, __name__), name)


__all__ = [
    "DEFAULT_INDEX",
    "CatalogueState",
    "Index",
    "IndexConfig",
    "RegistryConfig",
    "SearchHit",
    "SyncReport",
    "load_config",
    "open_index",
]
