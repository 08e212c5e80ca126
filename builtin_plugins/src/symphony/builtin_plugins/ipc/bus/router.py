"""Topic routing: exact topics by dict lookup, wildcard patterns by a segment trie.

Topics are dotted (``dag.node.finished``).  Patterns follow NATS: ``*`` matches
exactly one segment, ``>`` matches one or more trailing segments and may only
be last.  Both are at most :data:`MAX_TOPIC_LENGTH` characters (a client
chooses them), and the trie is walked without recursion.  Patterns are
compiled once into a trie; a topic's matches are cached (bounded, cleared
whenever a route is added or removed), so the steady state of a hot topic is
one dict lookup.
"""

from __future__ import annotations

from typing import Final, Generic, TypeVar

from symphony.hookspecs import IpcError

__all__ = ["MAX_TOPIC_LENGTH", "Router", "TopicError", "is_pattern", "validate_pattern", "validate_topic"]

T = TypeVar("T")

_STAR = "*"
_REST = ">"


class TopicError(IpcError, ValueError):
    """A malformed topic or pattern: a client's mistake, which the bus server reports and survives."""


#: Characters in a topic or pattern: far beyond any real name, and a bound on the trie's depth.
MAX_TOPIC_LENGTH: Final = 1024


def _check_length(kind: str, text: str) -> None:
    if len(text) > MAX_TOPIC_LENGTH:
        raise TopicError(
            f"{kind} {text[:40]!r}... is {len(text)} characters long, more than the limit of {MAX_TOPIC_LENGTH};"
            " use a shorter name."
        )


def validate_topic(topic: str) -> list[str]:
    """The segments of a concrete topic; TopicError naming the fault otherwise."""
    _check_length("Topic", topic)
    parts = topic.split(".")
    if not topic or "" in parts:
        raise TopicError(f"Topic {topic!r} has an empty segment; use dotted names like 'dag.node.finished'.")
    if _STAR in parts or _REST in parts:
        raise TopicError(f"Topic {topic!r} contains a wildcard; wildcards belong in subscription patterns only.")
    return parts


def validate_pattern(pattern: str) -> list[str]:
    """The segments of a pattern; TopicError naming the fault otherwise."""
    _check_length("Pattern", pattern)
    parts = pattern.split(".")
    if not pattern or "" in parts:
        raise TopicError(f"Pattern {pattern!r} has an empty segment; use e.g. 'dag.*.finished' or 'dag.>'.")
    for i, part in enumerate(parts):
        if part == _REST and i != len(parts) - 1:
            raise TopicError(f"Pattern {pattern!r}: '>' may only be the last segment.")
        if part not in (_STAR, _REST) and (_STAR in part or _REST in part):
            raise TopicError(f"Pattern {pattern!r}: '*' and '>' must be whole segments, not {part!r}.")
    return parts


def is_pattern(pattern: str) -> bool:
    """Whether ``pattern`` holds a wildcard segment."""
    return any(part in (_STAR, _REST) for part in pattern.split("."))


class _Node(Generic[T]):
    __slots__ = ("children", "rest", "star", "values")

    def __init__(self) -> None:
        self.children: dict[str, _Node[T]] = {}
        self.star: _Node[T] | None = None
        self.values: list[T] = []  # patterns ending here
        self.rest: list[T] = []  # patterns ending in '>' here

    def empty(self) -> bool:
        return not (self.children or self.star or self.values or self.rest)


class Router(Generic[T]):
    """Maps topics to the values (handlers, subscribers) of every matching route.

    ``match`` returns values in the order their routes were added (each value
    is routed under one pattern).  ``cache_size`` 0 disables the topic cache.
    """

    def __init__(self, cache_size: int = 4096) -> None:
        self._exact: dict[str, list[T]] = {}
        self._root: _Node[T] = _Node()
        self._wildcards = 0
        self._order: dict[int, int] = {}  # id(value) -> insertion sequence, for stable ordering
        self._values: dict[int, T] = {}
        self._seq = 0
        self._cache: dict[str, tuple[T, ...]] = {}
        self._cache_size = cache_size

    def __len__(self) -> int:
        return len(self._order)

    def values(self) -> list[T]:
        """Every routed value, in the order added."""
        return list(self._values.values())

    def add(self, pattern: str, value: T) -> None:
        """Route ``pattern`` to ``value``; TopicError if the pattern is malformed."""
        parts = validate_pattern(pattern)
        self._seq += 1
        self._order[id(value)] = self._seq
        self._values[id(value)] = value
        if _STAR not in parts and _REST not in parts:
            self._exact.setdefault(pattern, []).append(value)
        else:
            node = self._root
            for part in parts[:-1]:
                node = self._child(node, part)
            last = parts[-1]
            if last == _REST:
                node.rest.append(value)
            else:
                self._child(node, last).values.append(value)
            self._wildcards += 1
        self._cache.clear()

    def remove(self, pattern: str, value: T) -> bool:
        """Remove one route; False if it was not there."""
        parts = validate_pattern(pattern)
        removed = False
        if _STAR not in parts and _REST not in parts:
            values = self._exact.get(pattern)
            if values is not None and value in values:
                values.remove(value)
                removed = True
                if not values:
                    del self._exact[pattern]
        else:
            removed = self._remove(parts, value)
            if removed:
                self._wildcards -= 1
        if removed:
            self._order.pop(id(value), None)
            self._values.pop(id(value), None)
            self._cache.clear()
        return removed

    def match(self, topic: str) -> tuple[T, ...]:
        """Every value whose pattern matches the concrete ``topic``."""
        found = self._cache.get(topic)
        if found is not None:
            return found
        validate_topic(topic)
        exact = self._exact.get(topic)
        if not self._wildcards:
            found = tuple(exact) if exact else ()
        else:
            hits: list[T] = list(exact) if exact else []
            self._walk(topic.split("."), hits)
            if len(hits) > 1:
                order = self._order
                hits.sort(key=lambda v: order.get(id(v), 0))
            found = tuple(hits)
        if self._cache_size > 0:
            if len(self._cache) >= self._cache_size:
                del self._cache[next(iter(self._cache))]  # evict the oldest entry
            self._cache[topic] = found
        return found

    @staticmethod
    def _child(node: _Node[T], part: str) -> _Node[T]:
        if part == _STAR:
            if node.star is None:
                node.star = _Node()
            return node.star
        child = node.children.get(part)
        if child is None:
            child = node.children[part] = _Node()
        return child

    def _walk(self, parts: list[str], hits: list[T]) -> None:
        """Collect the values of every wildcard route matching ``parts`` (in any order: ``match`` sorts)."""
        stack: list[tuple[_Node[T], int]] = [(self._root, 0)]
        while stack:
            node, i = stack.pop()
            if node.rest and i < len(parts):
                hits.extend(node.rest)
            if i == len(parts):
                hits.extend(node.values)
                continue
            child = node.children.get(parts[i])
            if child is not None:
                stack.append((child, i + 1))
            if node.star is not None:
                stack.append((node.star, i + 1))

    def _remove(self, parts: list[str], value: T) -> bool:
        """Remove ``value`` routed under wildcard ``parts``, then prune the nodes left empty."""
        node = self._root
        path: list[tuple[_Node[T], str, _Node[T]]] = []  # (parent, segment, child) from the root down
        for part in parts[:-1]:
            child = node.star if part == _STAR else node.children.get(part)
            if child is None:
                return False
            path.append((node, part, child))
            node = child
        last = parts[-1]
        if last == _REST:
            if value not in node.rest:
                return False
            node.rest.remove(value)
        else:
            child = node.star if last == _STAR else node.children.get(last)
            if child is None or value not in child.values:
                return False
            child.values.remove(value)
            path.append((node, last, child))
        for parent, part, child in reversed(path):
            if not child.empty():
                break
            if part == _STAR:
                parent.star = None
            else:
                del parent.children[part]
        return True
