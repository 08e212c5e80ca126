"""Helpers for the bridge's tests: edits, waiting with a deadline, processes, recorded events."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from symphony.hookspecs import Event
from symphony.hookspecs.ports import Position, TextEdit

#: Generous: the suite runs on busy 2-core machines.
DEADLINE = 30.0


def edit(start: tuple[int, int], end: tuple[int, int], text: str) -> TextEdit:
    return TextEdit(
        start=Position(line=start[0], character=start[1]), end=Position(line=end[0], character=end[1]), text=text
    )


def insert(line: int, character: int, text: str) -> TextEdit:
    return edit((line, character), (line, character), text)


async def eventually(condition: Callable[[], Any], what: str) -> None:
    """Poll ``condition`` until it holds, failing after DEADLINE seconds with ``what``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.01)


class Recorder:
    """The events the port emits, by topic."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def topics(self) -> list[str]:
        return [event.topic for event in self.events]

    def data(self, topic: str) -> list[dict[str, Any]]:
        return [event.data for event in self.events if event.topic == topic]
