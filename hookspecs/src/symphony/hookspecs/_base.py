"""The base Struct every Symphony domain type derives from.

- ``kw_only``: fields are passed by name, so new optional fields can be added
  anywhere without breaking callers (schema evolution: new fields need defaults).
- ``forbid_unknown_fields``: a typo in a document is an error with its path,
  not a silently ignored key.
- ``frozen``: domain values are immutable and hashable; a type that must
  change in place derives from ``msgspec.Struct`` directly.
"""

from __future__ import annotations

import msgspec

__all__ = ["Base"]


class Base(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """Shared options for domain types; see the module docstring."""
