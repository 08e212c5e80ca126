"""The node cache key: what must be identical for a node to reuse an earlier output.

``sha256`` over the canonical JSON (keys sorted) of::

    {"v": 1, "kind": <"operator"|"instrument">, "uses": <name>,
     "config": <node config without "run">, "inputs": <port -> value>}

The node id, the workflow and the run are not part of it: the same step in two
workflows shares its cache.  Bump ``v`` when the meaning of a key changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Final

import msgspec

__all__ = ["CACHE_KEY_VERSION", "cache_key"]

CACHE_KEY_VERSION: Final = 1
_encoder = msgspec.json.Encoder(order="sorted")


def cache_key(kind: str, uses: str, config: Mapping[str, Any], inputs: Mapping[str, Any]) -> str:
    """The hex SHA-256 cache key (see the module docstring)."""
    document = {"v": CACHE_KEY_VERSION, "kind": kind, "uses": uses, "config": config, "inputs": inputs}
    return hashlib.sha256(_encoder.encode(document)).hexdigest()
