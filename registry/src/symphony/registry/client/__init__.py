"""The registry client: a trusted index (TUF), its searchable catalogue, and resolving and downloading releases.

``open_index(data_dir)`` gives the configured index; ``symphony registry use``
pins an index's root metadata (the trust anchor) and ``symphony registry sync``
/ ``symphony ext search`` keep the catalogue current.  See
docs/registry-catalogue.md.
"""

from __future__ import annotations

from ._catalogue import CatalogueState, SearchHit
from ._config import DEFAULT_INDEX, IndexConfig, RegistryConfig, load_config
from ._index import Index, open_index
from ._sync import SyncReport

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
