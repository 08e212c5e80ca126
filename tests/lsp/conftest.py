"""Hosts of the installed builtins (the real editor and jedi-language-server), with private state directories."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from symphony.hookspecs import BufferId, Event, hookimpl
from symphony.hookspecs.ports import LanguagePort, TextEditingPort
from symphony.host import Host, Settings


class Events:
    """Records the ``editor.diagnostics`` events the host emits."""

    def __init__(self) -> None:
        self.diagnostics: list[Event] = []

    @hookimpl
    def symphony_event(self, event: Event) -> None:
        if event.topic == "editor.diagnostics":
            self.diagnostics.append(event)


class Workspace:
    """A host over a folder of Python files; ``open`` writes one and opens it in the editor."""

    def __init__(self, host: Host, root: Path, events: Events) -> None:
        self.host = host
        self.root = root
        self.events = events
        self.editing: TextEditingPort = host.port("text_editing")
        self.language: LanguagePort = host.port("language")

    async def open(self, name: str, text: str) -> BufferId:
        path = self.root / name
        path.write_text(text, encoding="utf-8")
        return await self.editing.open_file(path)


def language_servers() -> list[psutil.Process]:
    """The language-server processes this test process started."""
    children = psutil.Process().children(recursive=True)
    return [p for p in children if any("jedi-language-server" in part for part in _cmdline(p))]


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


async def eventually(condition: Callable[[], Any], deadline: float = 60.0) -> None:
    """Poll ``condition`` until it holds; fail after ``deadline`` seconds (generous: the other core may be busy)."""
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            pytest.fail("condition not reached before the deadline")
        await asyncio.sleep(0.02)


def make_host(tmp_path: Path, events: Events, **lsp_options: Any) -> Host:
    components = {"lsp": {"options": lsp_options}} if lsp_options else {}
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache", components=components)
    return Host(settings, plugins=[events], discover_plugins=True)


@pytest.fixture
async def workspace(tmp_path: Path) -> AsyncIterator[Workspace]:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    events = Events()
    async with make_host(tmp_path, events) as host:
        yield Workspace(host, root, events)
