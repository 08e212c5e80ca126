"""The validator's per-node, per-edge and per-port problems, and their sorted list, patched as they change.

A report lists every problem in canonical order.  Re-sorting a thousand
problems after each edit costs more than the edit itself, so the buckets
tell the index what left and what entered, and the sorted list is patched
by bisection instead.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from operator import itemgetter
from typing import Any

from symphony.hookspecs import WorkflowProblem

__all__ = ["Bucket", "ProblemIndex"]

SortKey = Callable[[WorkflowProblem], Any]


class Bucket:
    """Problems by one name (a node id, an edge key, an input ``"node.port"``)."""

    __slots__ = ("_index", "_items")

    def __init__(self, index: ProblemIndex) -> None:
        self._index = index
        self._items: dict[str, list[WorkflowProblem]] = {}

    def set(self, name: str, found: list[WorkflowProblem]) -> None:
        """Replace ``name``'s problems with ``found`` (none: forget ``name``)."""
        old = self._items.pop(name, None) if not found else self._items.get(name)
        if found:
            self._items[name] = found
        if old or found:
            self._index.changed(old or (), found)

    def fill(self, found: dict[str, list[WorkflowProblem]]) -> None:
        """``set`` for names that have no problems yet, in bulk (each list non-empty)."""
        if self._items.keys() & found.keys():
            for name, problems in found.items():
                self.set(name, problems)
            return
        self._items.update(found)
        self._index.changed((), chain.from_iterable(found.values()))

    def drop(self, name: str) -> None:
        self.set(name, [])

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def problems(self) -> Iterator[WorkflowProblem]:
        return chain.from_iterable(self._items.values())


class ProblemIndex:
    """Three buckets and the sorted list of everything in them, kept by ``sort_key``."""

    def __init__(self, sort_key: SortKey) -> None:
        self._key = sort_key
        self.nodes = Bucket(self)
        self.edges = Bucket(self)
        self.ports = Bucket(self)
        self._sorted: list[WorkflowProblem] | None = None
        self._keys: list[Any] = []
        self._events: list[tuple[bool, WorkflowProblem]] = []  # (added?, problem) since the last sort

    def changed(self, dropped: Iterable[WorkflowProblem], added: Iterable[WorkflowProblem]) -> None:
        if self._sorted is not None:
            self._events += ((False, problem) for problem in dropped)
            self._events += ((True, problem) for problem in added)

    def sorted(self) -> list[WorkflowProblem]:
        """Every bucket's problems in ``sort_key`` order (the caller must not change the list)."""
        if self._sorted is None or len(self._events) > len(self._sorted) // 4 + 16 or not self._patch(self._sorted):
            self._sorted = self._rebuild()
        self._events = []
        return self._sorted

    def _rebuild(self) -> list[WorkflowProblem]:
        key = self._key
        problems = [*self.nodes.problems(), *self.edges.problems(), *self.ports.problems()]
        keyed = sorted(zip(map(key, problems), problems, strict=True), key=itemgetter(0))
        self._keys = [pair[0] for pair in keyed]
        return [pair[1] for pair in keyed]

    def _patch(self, problems: list[WorkflowProblem]) -> bool:
        """Apply the changes in the order they happened; False if the list no longer matches them."""
        keys, key = self._keys, self._key
        for added, problem in self._events:
            wanted = key(problem)
            at = bisect_left(keys, wanted)
            if added:
                problems.insert(at, problem)
                keys.insert(at, wanted)
                continue
            while at < len(problems) and problems[at] is not problem and keys[at] == wanted:
                at += 1  # equal keys: find this very problem
            if at == len(problems) or problems[at] is not problem:
                return False
            del problems[at], keys[at]
        return True
