"""The StaleManagerPort over the ``symphony_stale_sources`` contributions and the durable marks.

Each source is asked on its own: one that raises (or returns something other than
``StaleItem``s) is reported in ``StaleReport.errors`` and the others still report and
reclaim.  ``collect`` asks each source to reclaim only the items it found itself.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterable
from typing import Any

from symphony.hookspecs import ArtifactId, StaleItem, StaleSource
from symphony.hookspecs.ports import StaleReport

from .marks import Marks

__all__ = ["StaleManager"]


async def _result(value: Any) -> list[StaleItem]:
    """A source's answer, awaited if it is awaitable, checked to be a list of StaleItems."""
    if inspect.isawaitable(value):
        value = await value
    if not isinstance(value, list) or not all(isinstance(item, StaleItem) for item in value):
        raise TypeError(f"expected a list of StaleItem, got {type(value).__name__}")
    return value


def _failure(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


class StaleManager:
    """Asks every source what is stale and has them reclaim it; keeps the marks (see the module docstring)."""

    def __init__(self, sources: Iterable[StaleSource], marks: Marks) -> None:
        self.sources = {source.name: source for source in sources}
        self.marks = marks

    async def mark_stale(self, artifact_ids: list[ArtifactId], reason: str) -> None:
        await asyncio.to_thread(self.marks.mark, [str(i) for i in artifact_ids], reason)

    async def is_stale(self, artifact_id: ArtifactId) -> bool:
        return await asyncio.to_thread(self.marks.reason, str(artifact_id)) is not None

    async def _find(self) -> tuple[dict[str, list[StaleItem]], dict[str, str]]:
        found: dict[str, list[StaleItem]] = {}
        errors: dict[str, str] = {}
        for name, source in self.sources.items():
            try:
                found[name] = await _result(source.find())
            except Exception as error:  # a failing source is reported; the others still run
                errors[name] = _failure(error)
        return found, errors

    async def report(self) -> StaleReport:
        found, errors = await self._find()
        return StaleReport(items=[item for items in found.values() for item in items], errors=errors)

    async def collect(self, dry_run: bool = False) -> StaleReport:
        found, errors = await self._find()
        if dry_run:
            return StaleReport(items=[item for items in found.values() for item in items], errors=errors, dry_run=True)
        reclaimed: list[StaleItem] = []
        for name, items in found.items():
            if not items:
                continue
            try:
                reclaimed += await _result(self.sources[name].reclaim(items))
            except Exception as error:
                errors[name] = _failure(error)
        return StaleReport(items=reclaimed, errors=errors)

    async def sweep(self) -> int:
        return len((await self.collect()).items)

    def close(self) -> None:
        self.marks.close()
