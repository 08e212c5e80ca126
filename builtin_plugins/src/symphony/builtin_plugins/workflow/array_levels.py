"""Kahn's levels over integer edge arrays, a generation per step, for the interned scan's graphs.

Handing 50,000 edges to rustworkx means building 50,000 Python tuples first,
which costs more than rustworkx's own work; numpy walks the arrays directly.
Each generation is a handful of array operations, so a graph of more than
``GENERATIONS`` levels (a long chain) is left to rustworkx instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .bulk import kahn_levels_of

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["GENERATIONS", "ArrayGraph", "array_levels"]

GENERATIONS = 64


def array_levels(names: Sequence[str], sources: NDArray[np.int64], targets: NDArray[np.int64]) -> dict[str, int] | None:
    """Each node's level (one more than its deepest predecessor's), or None when the graph has a cycle.

    ``sources[i] -> targets[i]`` are edges as indexes into ``names``; parallel edges are fine.
    """
    import numpy as np

    count = len(names)
    # Any order within a source will do; a stable sort of 16-bit numbers is a radix sort.
    order = np.argsort(sources.astype(np.uint16), kind="stable") if count <= 1 << 16 else np.argsort(sources)
    heads = targets[order]
    first_edge = np.zeros(count + 1, np.int64)
    np.cumsum(np.bincount(sources, minlength=count), out=first_edge[1:])
    waiting = np.bincount(targets, minlength=count)  # predecessors not yet levelled
    level = np.full(count, -1, np.int64)
    frontier = np.flatnonzero(waiting == 0)
    writer = np.empty(count, np.int64)  # scratch: which of a generation's releases wrote a node last
    depth = 0
    while len(frontier):
        if depth == GENERATIONS:
            return kahn_levels_of(names, ArrayGraph(sources, targets).pairs())
        level[frontier] = depth
        starts, lengths = first_edge[frontier], first_edge[frontier + 1] - first_edge[frontier]
        total = int(lengths.sum())
        if not total:
            break
        # The frontier's out-edges: each node's run of ``heads``, concatenated.  Work stays on
        # these edges (a generation's few hundred), not on arrays of every node.
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
        released = heads[offsets]
        np.subtract.at(waiting, released, 1)
        ready = released[waiting[released] == 0]  # a node once per edge that released it
        numbered = np.arange(len(ready))
        writer[ready] = numbered  # one write per node survives, whichever it is
        frontier = ready[writer[ready] == numbered]
        depth += 1
    if (level < 0).any():
        return None
    return dict(zip(names, level.tolist(), strict=True))


@dataclasses.dataclass(slots=True, frozen=True)
class ArrayGraph:
    """The interned scan's graph: ``sources[i] -> targets[i]``, node indexes."""

    sources: NDArray[np.int64]
    targets: NDArray[np.int64]

    def pairs(self) -> list[tuple[int, int]]:
        return list(zip(self.sources.tolist(), self.targets.tolist(), strict=True))

    def levels(self, names: Sequence[str]) -> dict[str, int] | None:
        return array_levels(names, self.sources, self.targets)
