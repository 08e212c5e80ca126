"""Bounds on every document Symphony decodes (size and nesting depth), defined once.

The parsers (tomllib, msgspec) recurse once per level of nesting, so a hostile
document thousands of levels deep ends in ``RecursionError`` with a traceback,
and a value just shallow enough to decode crashes whoever walks it next (an
encoder, a checkpoint).  Workflows, manifests, settings and envelopes are
decoded through :func:`decode_bounded`, which turns both into the caller's own
clear error.  String lengths and item counts are bounded by the size limits.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any, Final, TypeVar

import msgspec
import msgspec.inspect as mi

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "check_size",
    "decode_bounded",
    "loads_toml",
    "read_bounded",
    "too_deep",
]

#: Levels of nested tables, arrays, objects and records (the document itself is level 1).
MAX_DEPTH: Final = 64
#: A workflow file (its 50,000 edges at most take a few MiB).
MAX_DOCUMENT_BYTES: Final = 64 * 1024 * 1024
#: A manifest, a settings file, an extension's configuration.
MAX_CONFIG_BYTES: Final = 1024 * 1024

_T = TypeVar("_T")
_SHOWN: Final = 8  # path segments named in a message; deeper ones are elided
_PLAIN: Final = re.compile(r"[A-Za-z0-9_-]+")


_LEAVES: Final = frozenset({str, int, float, bool, type(None), bytes})  # what decoders produce most
_RECORDS: Final = (mi.StructType, mi.TypedDictType, mi.DataclassType, mi.NamedTupleType)


def _open(kind: mi.Type, seen: frozenset[type]) -> bool:
    """Whether a value of this declared type can nest without bound: it holds ``Any`` or is recursive.

    Other typed values nest only as deep as their schema, so the walk skips them.
    """
    if isinstance(kind, mi.AnyType | mi.CustomType | mi.ExtType):
        return True
    if isinstance(kind, mi.Metadata):  # Annotated
        return _open(kind.type, seen)
    if isinstance(kind, _RECORDS):
        if kind.cls in seen:
            return True
        return any(_open(field.type, seen | {kind.cls}) for field in kind.fields)
    if isinstance(kind, mi.CollectionType):
        return _open(kind.item_type, seen)
    if isinstance(kind, mi.DictType):
        return _open(kind.key_type, seen) or _open(kind.value_type, seen)
    if isinstance(kind, mi.TupleType | mi.UnionType):
        return any(_open(member, seen) for member in getattr(kind, "item_types", getattr(kind, "types", ())))
    return False


_WALKED: dict[type, tuple[str, ...] | None] = {}  # a Struct type's fields worth walking; None: not a Struct


def _nesting_fields(kind: type) -> tuple[str, ...] | None:
    """The fields of a Struct type that can nest without bound (the only ones worth walking); None if no Struct."""
    try:
        return _WALKED[kind]
    except KeyError:
        pass
    fields = None
    if issubclass(kind, msgspec.Struct):
        info = mi.type_info(kind)
        assert isinstance(info, mi.StructType)
        fields = tuple(field.name for field in info.fields if _open(field.type, frozenset({kind})))
    _WALKED[kind] = fields
    return fields


def _children(node: Any) -> list[tuple[object, Any]] | None:
    """``(key, child)`` for the children of a container that may be containers; None for a leaf."""
    kind = type(node)
    if kind is dict:
        return [(key, child) for key, child in node.items() if type(child) not in _LEAVES]
    if kind is list or kind is tuple:
        return [(index, child) for index, child in enumerate(node) if type(child) not in _LEAVES]
    fields = _nesting_fields(kind)
    if fields is None:
        return None
    return [(name, child) for name in fields if type(child := getattr(node, name)) not in _LEAVES]


def _path(trail: Any) -> str:
    keys: list[object] = []
    while trail is not None:
        trail, key = trail
        keys.append(key)
    keys.reverse()
    text = "".join(_step(key) for key in keys[:_SHOWN]).lstrip(".")
    return (text + ("…" if len(keys) > _SHOWN else "")) or "the top level"


def _step(key: object) -> str:
    """``.name`` for a plain key, ``[0]`` for an index, ``['odd key']`` for any other."""
    if isinstance(key, str) and _PLAIN.fullmatch(key):
        return f".{key}"
    return f"[{key}]" if isinstance(key, int) else f"[{key!r}]"


def _trail(keys: Sequence[object]) -> Any:
    """``keys`` as the linked trail the walk extends: ``(parent trail, key)``, None at the top."""
    trail: Any = None
    for key in keys:
        trail = (trail, key)
    return trail


def _deepest(value: object, limit: int, at: Sequence[object]) -> str:
    """The path to a container deeper than ``limit`` (one is known to exist): the slow walk, for the message."""
    trail: Any = _trail(at)
    stack: list[tuple[object, int, Any]] = [(value, 1, trail)]
    while stack:
        node, depth, trail = stack.pop()
        children = _children(node)
        if children is None:
            continue
        if depth > limit:
            break
        stack.extend((child, depth + 1, (trail, key)) for key, child in children)
    return _path(trail)


def too_deep(value: object, limit: int = MAX_DEPTH, *, at: Sequence[object] = ()) -> str | None:
    """Where ``value`` nests deeper than ``limit`` levels (``nodes.a.config.x[0]…``), or None.

    ``at`` holds the keys leading to ``value`` when it is part of a larger
    document; they begin the path named.  Walks one level at a time, without
    recursion (a hostile value must not make the check itself recurse out) and
    without paths until one is needed: on the hot path (every envelope) it
    costs a few list comprehensions.
    """
    level: list[Any] = [value]
    depth = 0
    while level:
        below: list[Any] = []
        nested = False
        for node in level:
            kind = type(node)
            if kind is dict:
                below += [child for child in node.values() if type(child) not in _LEAVES]
            elif kind is list or kind is tuple:
                below += [child for child in node if type(child) not in _LEAVES]
            elif (fields := _nesting_fields(kind)) is not None:
                below += [child for name in fields if type(child := getattr(node, name)) not in _LEAVES]
            else:
                continue
            nested = True
        if not nested:
            return None
        depth += 1
        if depth > limit:
            return _deepest(value, limit, at)
        level = below
    return None


def decode_bounded(
    decode: Callable[[], _T],
    *,
    what: str,
    error: Callable[[str], Exception],
    limit: int = MAX_DEPTH,
    open_values: Callable[[_T], Iterable[tuple[Sequence[object], object]]] | None = None,
) -> _T:
    """``decode()``, or ``error(message)`` when the value nests deeper than ``limit`` levels.

    A decoder that recursed out (``RecursionError``) met a document far deeper than
    the limit: that is the same error, without the place, which the parser cannot give.
    ``open_values``, for a typed document, names the only parts that can nest
    beyond its schema (values typed ``Any``) as ``(keys, value)``; only those are
    walked, so a large typed document costs nothing where it holds no free values.
    """
    try:
        value = decode()
    except RecursionError:
        raise error(f"{what} nests deeper than the limit of {limit} levels; flatten its deepest value.") from None
    parts = [((), value)] if open_values is None else open_values(value)
    for keys, part in parts:
        where = too_deep(part, limit - len(keys), at=keys)
        if where is not None:
            raise error(f"{what} nests deeper than the limit of {limit} levels at `{where}`; flatten that value.")
    return value


def check_size(data: bytes, *, what: str, error: Callable[[str], Exception], limit: int) -> bytes:
    """``data``, or ``error(message)`` when it is longer than ``limit`` bytes."""
    if len(data) > limit:
        size = f"{limit // 2**20} MiB" if limit % 2**20 == 0 else f"{limit} bytes"
        raise error(f"{what} is larger than the limit of {size}; split it or shorten it.")
    return data


def read_bounded(file: IO[bytes], *, what: str, error: Callable[[str], Exception], limit: int) -> bytes:
    """At most ``limit`` bytes of ``file``, or ``error(message)`` for a larger one (never read whole)."""
    return check_size(file.read(limit + 1), what=what, error=error, limit=limit)


def loads_toml(text: str) -> dict[str, Any]:
    """``tomllib.loads``, with an integer too long for Python to convert reported as the TOML error it is.

    ``tomllib`` lets ``int()``'s plain ``ValueError`` escape for an integer of more
    than ``sys.get_int_max_str_digits()`` digits, past every ``TOMLDecodeError`` handler.
    """
    import tomllib  # here, not at the top: a command reading saved settings parses no TOML (see host._snapshot)

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        raise
    except ValueError:
        raise tomllib.TOMLDecodeError(
            f"An integer has more than {sys.get_int_max_str_digits()} digits, more than a number can hold here;"
            " write it as a string"
        ) from None
