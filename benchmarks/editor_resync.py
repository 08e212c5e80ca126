"""``editor_resync``: how long the bridge takes to bring a killed editor core back with every buffer resynced.

Ten 1 MB files (ASCII with some CJK) are open in the ``text_editing`` bridge,
each with an unsaved edit.  The core is SIGKILLed; the figure is the time until
the bridge has started a new core and reopened all ten buffers in it at their
revisions (the ``editor.core.running`` event), the median of several kills.
Each kill is a first crash (``stable_after=0``): repeated crashes back off on
purpose (0.1 s, 0.2 s, ...), which is not what this measures; and, as for a core
that ran a while, its idle spare has started.  Records:

- ``editor_resync.kill_to_resynced@10x1MB`` (goal <= 300 ms), against a cold
  start: a new bridge starting its core and opening the ten files from disk.
- ``editor_resync.record_edit``: what the host pays per edit to keep its resync
  state, a mirror of the text as lines (the design chosen), against the
  alternative, a log of the edits folded into a base text every 1,024 edits.
- ``editor_resync.resync_text@1MB``: producing one buffer's text for a resync
  after 1,000 edits, from the mirror (a join), against the log (replaying it).
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._measure import no_gc
from benchmarks.run import Record, record
from symphony.builtin_plugins.editor.bridge.port import CoreEditing
from symphony.builtin_plugins.editor.bridge.replay import apply_edits
from symphony.builtin_plugins.editor.bridge.sync import SyncedBuffer
from symphony.hookspecs import BufferId, Event
from symphony.hookspecs.ports import Position, TextEdit

__all__ = ["run"]

BUFFERS = 10
SIZE = 2**20
_LINE = "    total = compute(values[index], weights[index]) + offset  # accumulate the 漢字 score ✓\n"


def _files(root: Path) -> list[Path]:
    text = (_LINE * (SIZE // len(_LINE.encode()) + 1)).encode()[:SIZE].decode(errors="ignore")
    paths = []
    for n in range(BUFFERS):
        path = root / f"file{n}.py"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def _insert(line: int, text: str) -> TextEdit:
    return TextEdit(start=Position(line=line, character=4), end=Position(line=line, character=4), text=text)


class _Resyncs:
    """Times kills of the core until it runs again, resynced (the bridge announces ``editor.core.running``)."""

    def __init__(self) -> None:
        self.running = asyncio.Event()
        self.editing = CoreEditing(emit=self._event, stable_after=0.0)

    def _event(self, event: Event) -> None:
        if event.topic == "editor.core.running":
            self.running.set()

    async def kill(self) -> float:
        pid = self.editing.core.pid
        assert pid is not None
        self.running.clear()
        started = time.perf_counter()
        os.kill(pid, signal.SIGKILL)
        await self.running.wait()
        return time.perf_counter() - started


async def _measure(paths: list[Path], kills: int) -> tuple[float, float]:
    """(median kill-to-resynced, cold start and open of ``paths``) in seconds."""
    started = time.perf_counter()
    cold = CoreEditing()
    await asyncio.gather(*(cold.open_file(path) for path in paths))
    cold_start = time.perf_counter() - started
    await cold.stop()

    resyncs = _Resyncs()
    try:
        buffers = await asyncio.gather(*(resyncs.editing.open_file(path) for path in paths))
        times = []
        for _ in range(kills):
            for buffer in buffers:
                await resyncs.editing.edit_text(buffer, _insert(0, "x"))
            while resyncs.editing.core.spare_pid is None:  # a core that ran a while has its spare ready
                await asyncio.sleep(0.01)
            with no_gc():
                times.append(await resyncs.kill())
    finally:
        await resyncs.editing.stop()
    return statistics.median(times), cold_start


class _Log:
    """The alternative design: a base text and the edits since, folded into the base every 1,024 edits."""

    def __init__(self, text: str) -> None:
        self.base = text
        self.log: list[list[dict[str, Any]]] = []

    def record(self, edits: list[dict[str, Any]]) -> None:
        self.log.append(edits)
        if len(self.log) >= 1024:
            self.text()

    def text(self) -> str:
        if self.log:
            lines = self.base.split("\n")
            for edits in self.log:
                apply_edits(lines, edits)
            self.base = "\n".join(lines)
            self.log.clear()
        return self.base


def _changes(count: int) -> list[list[dict[str, Any]]]:
    return [
        [{"start": {"line": n % 10_000, "character": 4}, "end": {"line": n % 10_000, "character": 4}, "text": "x"}]
        for n in range(count)
    ]


def _record_cost(text: str, edits: int) -> tuple[float, float]:
    """Seconds per edit to record it in a SyncedBuffer (mirror), and in the log alternative."""
    changes = _changes(edits)
    mirror = SyncedBuffer(BufferId("bench"), Path("bench"), text, None)
    log = _Log(text)
    with no_gc():
        started = time.perf_counter()
        for revision, change in enumerate(changes, 1):
            mirror.record(revision, change, True)
        mirrored = (time.perf_counter() - started) / edits
        started = time.perf_counter()
        for change in changes:
            log.record(change)
        log.text()
        logged = (time.perf_counter() - started) / edits
    return mirrored, logged


def _resync_text_cost(text: str, repeats: int) -> tuple[float, float]:
    """Seconds to produce the text for a resync after 1,000 edits: from the mirror, and from the log."""
    changes = _changes(1000)
    mirror = SyncedBuffer(BufferId("bench"), Path("bench"), text, None)
    for revision, change in enumerate(changes, 1):
        mirror.record(revision, change, True)
    joins, replays = [], []
    with no_gc():
        for _ in range(repeats):
            started = time.perf_counter()
            mirror.text()
            joins.append(time.perf_counter() - started)
            log = _Log(text)
            log.log = list(changes)
            started = time.perf_counter()
            log.text()
            replays.append(time.perf_counter() - started)
    return statistics.median(joins), statistics.median(replays)


def run(quick: bool) -> list[Record]:
    kills = 5 if quick else 15
    with tempfile.TemporaryDirectory(prefix="symphony-editor-resync-") as tmp:
        paths = _files(Path(tmp))
        resync, cold = asyncio.run(_measure(paths, kills))
        text = paths[0].read_text(encoding="utf-8")
    mirrored, logged = _record_cost(text, 5_000 if quick else 20_000)
    joined, replayed = _resync_text_cost(text, 5 if quick else 20)
    size = f"{BUFFERS}x{SIZE // 2**20}MB"
    return [
        record(
            f"editor_resync.kill_to_resynced@{size}",
            resync * 1e3,
            "ms",
            f"cold start of the core and open of the {BUFFERS} files from disk",
            cold * 1e3,
            seed_target="health monitor restarts the editor core; buffers resynced",
            goal="<= 300 ms",
        ),
        record(
            "editor_resync.record_edit",
            mirrored * 1e6,
            "us",
            "a log of edits folded into a base text every 1,024 edits (1 MB)",
            logged * 1e6,
        ),
        record(
            "editor_resync.resync_text@1MB",
            joined * 1e3,
            "ms",
            "replaying a log of 1,000 edits onto the base text",
            replayed * 1e3,
        ),
    ]
