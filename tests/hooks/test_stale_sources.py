"""symphony_stale_sources: a plugin's source of stale state is collected by name, find and reclaim intact."""

from __future__ import annotations

from symphony.hookspecs import StaleItem, StaleSource, hookimpl
from symphony.hookspecs.ports import HostContext

from .conftest import MakeHost

TEMP = StaleItem(source="scratch", kind="file", key="a.tmp", reason="older than a day", size=10)


class Scratch:
    def __init__(self) -> None:
        self.reclaimed: list[StaleItem] = []

    def reclaim(self, items: list[StaleItem]) -> list[StaleItem]:
        self.reclaimed += items
        return items

    @hookimpl
    def symphony_stale_sources(self, context: HostContext) -> list[StaleSource]:
        return [StaleSource(name="scratch", find=lambda: [TEMP], reclaim=self.reclaim)]


def test_symphony_stale_sources_of_a_plugin_are_collected_by_name(make_host: MakeHost) -> None:
    scratch = Scratch()
    plugin, source = make_host(scratch).load().contributions("symphony_stale_sources")["scratch"]
    assert plugin == "Scratch"
    assert source.find() == [TEMP]
    assert source.reclaim([TEMP]) == [TEMP]
    assert scratch.reclaimed == [TEMP]
