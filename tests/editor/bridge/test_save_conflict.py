"""A file changed on disk behind the buffer's back is not overwritten unless the save is forced."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from symphony.builtin_plugins.editor.bridge.port import CoreEditing
from symphony.hookspecs import ValidationError

from .support import insert


async def test_saving_over_a_file_changed_on_disk_is_refused_and_writes_nothing(
    editing: CoreEditing, source: Path
) -> None:
    buffer = await editing.open_file(source)
    await editing.edit_text(buffer, insert(0, 0, "mine "))
    source.write_text("theirs\n", encoding="utf-8")
    os.utime(source, ns=(1, 1))  # a different mtime even on a coarse clock
    with pytest.raises(ValidationError, match=r"changed on disk.*force=True"):
        await editing.save_buffer(buffer)
    assert source.read_text(encoding="utf-8") == "theirs\n"
    assert (await editing.list_buffers())[0].dirty


async def test_a_forced_save_overwrites_the_changed_file(editing: CoreEditing, source: Path) -> None:
    buffer = await editing.open_file(source)
    await editing.edit_text(buffer, insert(0, 0, "mine "))
    source.write_text("theirs\n", encoding="utf-8")
    os.utime(source, ns=(1, 1))
    await editing.save_buffer(buffer, force=True)
    assert source.read_text(encoding="utf-8").startswith("mine roses")
    assert not (await editing.list_buffers())[0].dirty


async def test_after_a_save_the_saved_file_is_the_new_baseline(editing: CoreEditing, source: Path) -> None:
    buffer = await editing.open_file(source)
    await editing.edit_text(buffer, insert(0, 0, "1 "))
    await editing.save_buffer(buffer)
    await editing.edit_text(buffer, insert(0, 0, "2 "))
    await editing.save_buffer(buffer)
    assert source.read_text(encoding="utf-8").startswith("2 1 roses")
