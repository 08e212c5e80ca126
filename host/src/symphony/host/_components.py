"""Ordering components so each starts after what it depends on."""

from __future__ import annotations

import graphlib
from collections.abc import Sequence
from typing import Literal

import msgspec

from symphony.hookspecs.ports import AsyncComponent

__all__ = ["ComponentRecord", "start_order"]

ComponentState = Literal["stopped", "running", "failed", "skipped"]


class ComponentRecord(msgspec.Struct, kw_only=True):
    """A component, the plugin that contributed it, and how its lifecycle went."""

    name: str
    plugin: str
    component: AsyncComponent
    state: ComponentState = "stopped"
    error: str | None = None


def start_order(records: Sequence[ComponentRecord]) -> list[ComponentRecord]:
    """Records ordered so each comes after its known dependencies.

    Members of a dependency cycle are marked failed with the cycle and left
    out.  Unknown dependencies are left for the caller, which skips a
    component whose dependencies are not running.
    """
    by_name = {record.name: record for record in records}
    graph = {r.name: [d for d in r.component.depends_on if d in by_name] for r in records}
    while True:
        try:
            return [by_name[name] for name in graphlib.TopologicalSorter(graph).static_order()]
        except graphlib.CycleError as error:
            cycle: list[str] = error.args[1]
            for name in set(cycle):
                by_name[name].state = "failed"
                by_name[name].error = f"dependency cycle: {' -> '.join(cycle)}"
                del graph[name]
            graph = {name: [d for d in deps if d in graph] for name, deps in graph.items()}
