"""The metrics collector: per node queue wait, run time and retries; per run totals."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

__all__ = ["NodeMetrics", "RunMetrics", "totals"]


class NodeMetrics(msgspec.Struct, kw_only=True):
    """One node: seconds waiting ready for a slot (and for its resources), seconds running, attempts made."""

    state: str = "pending"
    queue_wait: float = 0.0
    run_time: float = 0.0
    attempts: int = 0
    cached: bool = False
    #: Attempts the arbitration engine took the slot back from (queued again, not counted as attempts).
    preemptions: int = 0

    @property
    def retries(self) -> int:
        return max(0, self.attempts - 1)


class RunMetrics(msgspec.Struct, kw_only=True):
    """A run's totals; ``wall_time`` is from start (or resume) to the end."""

    nodes: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0
    pending: int = 0
    cached: int = 0
    restored: int = 0
    retries: int = 0
    queue_wait: float = 0.0
    run_time: float = 0.0
    wall_time: float = 0.0


def totals(nodes: Iterable[NodeMetrics], *, wall_time: float, restored: int) -> RunMetrics:
    """Sum the nodes' metrics into the run's."""
    run = RunMetrics(wall_time=wall_time, restored=restored)
    for node in nodes:
        run.nodes += 1
        if node.state in ("succeeded", "failed", "skipped", "cancelled"):
            setattr(run, node.state, getattr(run, node.state) + 1)
        else:
            run.pending += 1
        run.cached += node.cached
        run.retries += node.retries
        run.queue_wait += node.queue_wait
        run.run_time += node.run_time
    return run
