"""The node cache key: what must be identical for a node to reuse an earlier output.

``sha256`` over the canonical JSON (keys sorted) of::

    {"v": 2, "kind": <"operator"|"instrument">, "uses": <name>, "version": <contribution version>,
     "config": <node config without "run">, "inputs": <port -> value>}

The inputs enter by content, as their artifact ids do (a digest of the bytes), so
equal inputs from any run or node hit.  ``version`` is the installed version of the
distribution that contributes the node (the extension's, for an extension's node):
upgrading it must not reuse what the old code computed.  The node id, the workflow
and the run are not part of it: the same step in two workflows shares its cache.
Bump ``v`` when the meaning of a key changes.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from typing import Any, Final

import msgspec

from ...workflow.nodes import distributions_of

__all__ = ["CACHE_KEY_VERSION", "cache_key", "contribution_version"]

CACHE_KEY_VERSION: Final = 2
_encoder = msgspec.json.Encoder(order="sorted")


def cache_key(kind: str, uses: str, version: str | None, config: Mapping[str, Any], inputs: Mapping[str, Any]) -> str:
    """The hex SHA-256 cache key (see the module docstring)."""
    document = {
        "v": CACHE_KEY_VERSION,
        "kind": kind,
        "uses": uses,
        "version": version,
        "config": config,
        "inputs": inputs,
    }
    return hashlib.sha256(_encoder.encode(document)).hexdigest()


def contribution_version(plugin: str, extension: str | None) -> str | None:
    """``distribution==version`` of what contributes a node; None for bare specs (no distribution).

    Read once per process from the installed entry points (``symphony.extensions``
    by extension name, else ``symphony.plugins`` by plugin name), as ``symphony nodes`` does.
    """
    group, name = ("symphony.extensions", extension) if extension is not None else ("symphony.plugins", plugin)
    distribution, version = _installed(group).get(name, (None, None))
    return None if distribution is None else f"{distribution}=={version}"


@functools.cache
def _installed(group: str) -> Mapping[str, tuple[str | None, str | None]]:
    return distributions_of(group)
