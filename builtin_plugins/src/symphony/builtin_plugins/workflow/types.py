"""The port type language and when one type may feed another.

Types: ``any``, ``json``, ``string``, ``number``, ``integer``, ``boolean``,
``object``, ``bytes`` and ``list[T]``.  A data edge is an error when its
source type is not one its target accepts: ``any`` accepts and feeds
everything (it opts out of checking); ``json`` accepts every JSON type but
feeds only ``json`` and ``any``, because which JSON value it holds is known
only at run time (a ``json`` into a ``string`` would fail there, not here);
an ``integer`` is a ``number``, lists are covariant, and unknown type names
agree only with themselves (and with ``any``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Final

__all__ = ["compatible", "has_fields", "holds", "type_of"]

_JSON_TYPES: Final = frozenset({"json", "string", "number", "integer", "boolean", "object"})
_STRUCTURED: Final = frozenset({"any", "json", "object"})
_SCALARS: Final = frozenset({"string", "number", "integer", "boolean", "object"})
#: Checked in order: a bool is an int to Python, but not an integer here.
_LITERAL_TYPES: Final = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (dict, "object"),
    (list, "list"),
    (bytes, "bytes"),
)


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
    if target == "json":
        return source_item is not None or source in _JSON_TYPES
    return source_item is None and target_item is None and source == "integer" and target == "number"


def has_fields(type_name: str) -> bool:
    """Whether a condition may look inside a value of this type (``result.score``)."""
    return type_name in _STRUCTURED


def type_of(value: Any) -> str:
    """The type-language name of a literal, for messages (``null`` for None)."""
    for kind, name in _LITERAL_TYPES:
        if isinstance(value, kind):
            return name
    return "null" if value is None else type(value).__name__


def holds(type_name: str, value: Any) -> bool:
    """Whether the literal ``value`` (a constant input) is a ``type_name``.

    ``any`` holds everything and ``json`` every JSON value; a type name
    unknown here holds nothing, since nothing says what its values look like.
    """
    depth = 0
    span = (0, len(type_name))
    while (item := _element(type_name, *span)) is not None:
        span, depth = item, depth + 1
    element = type_name[slice(*span)]
    if element not in _SCALARS and element not in ("any", "json", "bytes"):
        return False
    return _holds(element, depth, value)


def _holds(element: str, depth: int, value: Any) -> bool:
    if element == "any" and depth == 0:
        return True
    if depth:
        return isinstance(value, list | tuple) and all(_holds(element, depth - 1, item) for item in value)
    if element == "json":
        return _is_json(value)
    if element == "bytes":
        return isinstance(value, bytes)
    if element == "object":
        return isinstance(value, dict) and all(isinstance(k, str) for k in value) and _is_json(value)
    return type_of(value) == element or (element == "number" and type_of(value) == "integer")


def _is_json(value: Any) -> bool:
    """Nesting is bounded by the document limits, so recursion is safe here."""
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list | tuple):
        return all(_is_json(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_json(item) for key, item in value.items())
    return False
