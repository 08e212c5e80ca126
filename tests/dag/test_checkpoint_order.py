"""A node starts only once the checkpoints it depends on are saved, whether the save completes at once or waits.

The records are the embedded data service (``data_port``), seen through a port that notes each
save in the same list as the run's events, so the order of saves and starts is what the tracker did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from symphony.builtin_plugins.pit.dag import DagTracker
from symphony.hookspecs import Event
from symphony.hookspecs.ports import DataAccessPort, NodeCheckpoint

from .conftest import flow
from .test_tracker import edge, recorders


class NotingSaves:
    """``data_port`` whose ``save_nodes`` notes what it saved once saved; ``pause``: it first yields to the loop."""

    def __init__(self, port: DataAccessPort, seen: list[tuple[str, str]], *, pause: bool) -> None:
        self._port = port
        self._seen = seen
        self._pause = pause

    async def save_nodes(self, run_id: str, nodes: list[NodeCheckpoint]) -> None:
        if self._pause:
            await asyncio.sleep(0.001)
        await self._port.save_nodes(run_id, nodes)
        self._seen += [("saved", node.node_id) for node in nodes]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._port, name)


def _chain(tmp_path: Path) -> str:
    text = recorders(tmp_path / "log", ["a", "b", "c"])
    return text + edge("a.value", "b.value") + edge("b.value", "c.value")


async def _order(
    make_tracker: Callable[..., DagTracker], data_port: DataAccessPort, tmp_path: Path, pause: bool
) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []

    def sink(event: Event) -> None:
        if event.topic == "node.running":
            seen.append(("running", event.data["node"]))

    tracker = make_tracker(records=NotingSaves(data_port, seen, pause=pause), emit=sink)
    result = await tracker.run(flow(_chain(tmp_path)), {})
    assert result.state == "succeeded"
    stored = {node.node_id: node.state for node in await data_port.run_nodes(result.run_id)}
    assert stored == {"a": "succeeded", "b": "succeeded", "c": "succeeded"}
    return seen


CHAIN = [
    ("running", "a"),
    ("saved", "a"),
    ("running", "b"),
    ("saved", "b"),
    ("running", "c"),
    ("saved", "c"),
]


async def test_each_node_of_a_chain_starts_after_its_source_is_saved(
    make_tracker: Callable[..., DagTracker], data_port: DataAccessPort, tmp_path: Path
) -> None:
    assert await _order(make_tracker, data_port, tmp_path, pause=False) == CHAIN


async def test_a_save_that_waits_still_holds_back_the_next_node(
    make_tracker: Callable[..., DagTracker], data_port: DataAccessPort, tmp_path: Path
) -> None:
    assert await _order(make_tracker, data_port, tmp_path, pause=True) == CHAIN
