"""The port type language and when one type may feed another.

Types: ``any``, ``json``, ``string``, ``number``, ``integer``, ``boolean``,
``object``, ``bytes`` and ``list[T]``.  A data edge is an error only when its
types can never agree at run time: ``any`` and ``json`` accept and feed every
JSON type, an ``integer`` is a ``number``, lists are covariant, and unknown type
names agree only with themselves (and with ``any``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

__all__ = ["compatible", "has_fields"]

_JSON_TYPES: Final = frozenset({"json", "string", "number", "integer", "boolean", "object"})
_STRUCTURED: Final = frozenset({"any", "json", "object"})


def _element(type_name: str) -> str | None:
    if type_name.startswith("list[") and type_name.endswith("]"):
        return type_name[5:-1].strip()
    return None


@lru_cache(maxsize=4096)
def compatible(source: str, target: str) -> bool:
    """Whether an output of type ``source`` may be connected to an input of type ``target``."""
    if source == target or "any" in (source, target):
        return True
    source_item, target_item = _element(source), _element(target)
    if source_item is not None or target_item is not None:
        if source_item is not None and target_item is not None:
            return compatible(source_item, target_item)
        return "json" in (source, target)
    if "json" in (source, target):
        return source in _JSON_TYPES and target in _JSON_TYPES
    return source == "integer" and target == "number"


def has_fields(type_name: str) -> bool:
    """Whether a condition may look inside a value of this type (``result.score``)."""
    return type_name in _STRUCTURED
