"""buffer-read: a workflow node reads a file as the editor holds it, through the real editor-core process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from symphony.builtin_plugins.editor import plugin as editor_plugin
from symphony.builtin_plugins.orchestra import plugin as orchestra_plugin
from symphony.hookspecs import NotFoundError, ValidationError
from symphony.hookspecs.ports import Position, TextEdit, TextEditingPort
from symphony.host import Host, Settings


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[Host]:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    async with Host(settings, plugins=[editor_plugin, orchestra_plugin], discover_plugins=False) as host:
        yield host


def reader(host: Host, root: Path) -> Any:
    _plugin, spec = host.context.contributions("symphony_operators")["buffer-read"]
    return spec.factory({"root": str(root)})


async def test_an_open_buffer_is_read_with_its_unsaved_edits(host: Host, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("on disk\n")
    editing: TextEditingPort = host.context.port("text_editing")
    buffer = await editing.open_file(tmp_path / "notes.txt")
    await editing.edit_text(
        buffer, TextEdit(start=Position(line=0, character=0), end=Position(line=0, character=2), text="in")
    )
    read = await reader(host, tmp_path)({"path": "notes.txt"})
    assert read == {"text": "in disk\n", "unsaved": True}
    assert (tmp_path / "notes.txt").read_text() == "on disk\n"


async def test_a_file_not_open_is_read_from_disk_and_left_closed(host: Host, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("on disk\n")
    read = await reader(host, tmp_path)({"path": "notes.txt"})
    assert read == {"text": "on disk\n", "unsaved": False}
    assert await host.context.port("text_editing").list_buffers() == []


async def test_a_missing_file_is_not_found(host: Host, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no file"):
        await reader(host, tmp_path)({"path": "nope.txt"})


async def test_a_path_outside_the_root_is_refused(host: Host, tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    with pytest.raises(ValidationError, match="resolves outside its root"):
        await reader(host, tmp_path / "root")({"path": "../notes.txt"})


async def test_without_an_editor_the_operator_says_what_to_use_instead(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    (tmp_path / "notes.txt").write_text("x")
    async with Host(settings, plugins=[orchestra_plugin], discover_plugins=False) as host:
        with pytest.raises(ValidationError, match="use file-read"):
            await reader(host, tmp_path)({"path": "notes.txt"})
