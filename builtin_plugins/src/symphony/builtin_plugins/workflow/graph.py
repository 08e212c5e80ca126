"""Graph algorithms on plain successor maps, for the validator: levels, reachability, cycles.

They know nothing of workflows: nodes are names, ``succ`` maps each node to
its successors.  Levels are Kahn's (a node's level is one more than its deepest
predecessor's).  While the graph is acyclic the validator keeps a rank (any
numbering where edges go up, such as levels), which :func:`raise_levels`
repairs after a new edge and :func:`reaches` uses to prune its search.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["kahn_levels", "raise_levels", "reaches", "shortest_cycle", "strongly_connected"]


def kahn_levels(succ: Mapping[str, Iterable[str]], indegree: Mapping[str, int]) -> dict[str, int]:
    """Each node's level by Kahn's algorithm; nodes on a cycle, or after one, are left out.

    ``succ`` may list a successor once per edge if ``indegree`` counts the same way.
    """
    remaining = dict(indegree)
    frontier = [node for node, count in remaining.items() if count == 0]
    level: dict[str, int] = {}
    depth = 0
    while frontier:
        following = []
        for node in frontier:
            level[node] = depth
            for child in succ[node]:
                remaining[child] -= 1
                if remaining[child] == 0:
                    following.append(child)
        frontier = following
        depth += 1
    return level


def raise_levels(level: dict[str, int], succ: Mapping[str, Iterable[str]], start: str, depth: int) -> None:
    """After an edge into ``start`` that puts it at ``depth``: push it and what follows it down (ranks too)."""
    stack = [(start, depth)]
    while stack:
        node, at = stack.pop()
        if level[node] >= at:
            continue
        level[node] = at
        stack.extend((child, at + 1) for child in succ[node])


def reaches(level: Mapping[str, int], succ: Mapping[str, Iterable[str]], start: str, goal: str) -> bool:
    """Whether ``goal`` is reachable from ``start``; levels or ranks prune the search (acyclic graph only)."""
    bound = level[goal]
    if level[start] >= bound:
        return False
    seen, stack = {start}, [start]
    while stack:
        for child in succ[stack.pop()]:
            if child == goal:
                return True
            if child not in seen and level[child] < bound:
                seen.add(child)
                stack.append(child)
    return False


def shortest_cycle(start: str, component: set[str], succ: Mapping[str, Iterable[str]]) -> list[str]:
    """The shortest cycle from ``start`` back to itself within ``component`` (ties by name)."""
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(set(succ[node])):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [start, *reversed(path[:-1]), start] if node != start else [start, start]
                if child in component and child not in parents:
                    parents[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError("a strongly connected component always has a cycle")  # pragma: no cover


def strongly_connected(nodes: set[str], succ: Mapping[str, Iterable[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively, over the subgraph induced by ``nodes``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []
    counter = 0
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(c for c in succ[root] if c in nodes)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(c for c in succ[child] if c in nodes))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components
