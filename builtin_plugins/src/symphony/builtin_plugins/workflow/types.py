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


def _element(name: str, start: int, end: int) -> tuple[int, int] | None:
    """Where ``T`` lies in ``name[start:end]`` when that is ``list[T]`` (found by index: no copy per level)."""
    if not (name.startswith("list[", start, end) and end - start > 5 and name[end - 1] == "]"):
        return None
    start, end = start + 5, end - 1
    while start < end and name[start].isspace():
        start += 1
    while end > start and name[end - 1].isspace():
        end -= 1
    return start, end


@lru_cache(maxsize=4096)
def compatible(source: str, target: str) -> bool:
    """Whether an output of type ``source`` may be connected to an input of type ``target``.

    Lists are unwrapped in a loop, in time linear in the names: a type nested
    thousands of levels deep (which a manifest may declare) gets an answer,
    not a RecursionError.
    """
    source_span, target_span = (0, len(source)), (0, len(target))
    while True:
        source_item, target_item = _element(source, *source_span), _element(target, *target_span)
        if source_item is None or target_item is None:
            break
        source_span, target_span = source_item, target_item
    source, target = source[slice(*source_span)], target[slice(*target_span)]
    if source == target or "any" in (source, target):
        return True
    if source_item is not None or target_item is not None:
        return "json" in (source, target)
    if "json" in (source, target):
        return source in _JSON_TYPES and target in _JSON_TYPES
    return source == "integer" and target == "number"


def has_fields(type_name: str) -> bool:
    """Whether a condition may look inside a value of this type (``result.score``)."""
    return type_name in _STRUCTURED
