"""The default distribution's text_editing port is the bridge: edits reach the core process and come back as events."""

from __future__ import annotations

from pathlib import Path

from symphony.builtin_plugins.editor import plugin as editor_plugin
from symphony.builtin_plugins.editor.bridge.connection import CORE_MODULE
from symphony.hookspecs import Event, hookimpl
from symphony.hookspecs.ports import TextEditingPort
from symphony.host import Host, Settings
from tests.lifetime import alive

from .support import eventually, insert


class Observer:
    def __init__(self) -> None:
        self.events: list[Event] = []

    @hookimpl
    def symphony_event(self, event: Event) -> None:
        self.events.append(event)


async def test_the_editor_plugin_edits_through_the_core_and_stops_it_with_the_host(
    tmp_path: Path, source: Path
) -> None:
    observer = Observer()
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    host = Host(settings, plugins=[editor_plugin, observer], discover_plugins=False)
    async with host:
        port: TextEditingPort = host.context.port("text_editing")
        buffer = await port.open_file(source)
        await port.edit_text(buffer, insert(0, 0, "hello "))
        assert (await port.get_buffer_content(buffer)).startswith("hello roses")
        health = await host.health()
        assert health.checks["editor"].status == "ok" and health.checks["editor"].details["open_buffers"] == 1
        pid = health.checks["editor"].details["pid"]
        assert Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[2].decode() == CORE_MODULE
    changed = [e.data for e in observer.events if e.topic == "editor.changed"]
    assert changed == [{"buffer_id": buffer, "path": str(source), "version": 1, "revision": 1}]
    await eventually(lambda: not alive(pid), "the core stopped with the host")
