"""The lookahead: which models a run will need soon, so the pool warms them while their predecessors run.

A node's *level* is the length of the longest chain of nodes before it (nodes
with no predecessor are level 0).  The *frontier* is the lowest level with a
node not yet finished.  An instrument node at most ``depth`` levels past the
frontier that has not started is *due*: its models are prewarmed, each model
once per run.  Levels are computed once per plan, and the frontier only moves
forward, so following a run costs O(nodes) over its whole life.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Mapping

from .scheduler import Plan

__all__ = ["Lookahead", "levels"]


def levels(plan: Plan) -> dict[str, int]:
    """Each node's level: the longest chain of nodes (any edge kind) leading to it."""
    waiting = {node_id: p.incoming_data + p.incoming_order for node_id, p in plan.nodes.items()}
    level = dict.fromkeys(plan.nodes, 0)
    ready = collections.deque(node_id for node_id, count in waiting.items() if count == 0)
    while ready:
        node_id = ready.popleft()
        for out in plan.nodes[node_id].outgoing:
            level[out.target] = max(level[out.target], level[node_id] + 1)
            waiting[out.target] -= 1
            if waiting[out.target] == 0:
                ready.append(out.target)
    return level


class Lookahead:
    """Follows one run's frontier and says which models became due."""

    def __init__(self, plan: Plan, models: Mapping[str, tuple[str, ...]], depth: int) -> None:
        """``models``: instrument node -> the models it uses (nodes using none may be left out)."""
        self.level = levels(plan)
        self.depth = depth
        self._left = collections.Counter(self.level.values())
        self._frontier = 0
        self._top = max(self._left, default=0)
        self._queue = sorted(
            ((self.level[node_id], node_id, used) for node_id, used in models.items() if used),
            key=lambda entry: entry[0],
        )
        self._next = 0
        self.warmed: set[str] = set()

    def finished(self, node_id: str) -> None:
        """``node_id`` succeeded, was skipped or restored: the frontier may move on."""
        self._left[self.level[node_id]] -= 1
        while self._frontier < self._top and self._left[self._frontier] <= 0:
            self._frontier += 1

    def due(self, started: Callable[[str], bool]) -> list[tuple[str, str]]:
        """``(model, node)`` pairs to prewarm now: models not warmed yet of due nodes not ``started``."""
        found: list[tuple[str, str]] = []
        horizon = self._frontier + self.depth
        queue = self._queue
        while self._next < len(queue) and queue[self._next][0] <= horizon:
            _, node_id, used = queue[self._next]
            self._next += 1
            if started(node_id):
                continue
            for model in used:
                if model not in self.warmed:
                    self.warmed.add(model)
                    found.append((model, node_id))
        return found
