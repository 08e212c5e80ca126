"""The text_editing port over the editor-core process: open, edit, undo, save, close, subscribe."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from symphony.builtin_plugins.editor.bridge.port import CoreEditing
from symphony.hookspecs import BufferId, NotFoundError, ValidationError
from symphony.hookspecs.ports import BufferChange, TextEditingPort

from .support import Recorder, edit, insert


def test_the_bridge_satisfies_the_port_protocol() -> None:
    assert isinstance(CoreEditing(), TextEditingPort)


async def test_opening_the_same_file_twice_gives_the_same_buffer(editing: CoreEditing, source: Path) -> None:
    assert await editing.open_file(source) == await editing.open_file(source)


async def test_edits_replace_ranges_across_lines(editing: CoreEditing, source: Path) -> None:
    buffer = await editing.open_file(source)
    assert await editing.edit_text(buffer, edit((0, 10), (1, 7), "green\nskies")) == 1
    assert await editing.get_buffer_content(buffer) == "roses are green\nskies are blue\n"


async def test_a_missing_file_opens_as_an_empty_buffer_and_is_created_on_save(
    editing: CoreEditing, tmp_path: Path
) -> None:
    path = tmp_path / "new.txt"
    buffer = await editing.open_file(path)
    await editing.edit_text(buffer, insert(0, 0, "fresh"))
    await editing.save_buffer(buffer)
    assert path.read_text(encoding="utf-8") == "fresh"


async def test_save_writes_the_file_and_clears_dirty(editing: CoreEditing, source: Path) -> None:
    buffer = await editing.open_file(source)
    await editing.edit_text(buffer, insert(0, 0, "> "))
    assert (await editing.list_buffers())[0].dirty
    await editing.save_buffer(buffer)
    assert source.read_text(encoding="utf-8").startswith("> roses")
    (info,) = await editing.list_buffers()
    assert not info.dirty and info.version == 1
    assert [p.name for p in source.parent.iterdir()] == ["poem.txt"]  # no temporary left behind


async def test_save_keeps_the_files_mode(editing: CoreEditing, source: Path) -> None:
    os.chmod(source, 0o640)
    buffer = await editing.open_file(source)
    await editing.edit_text(buffer, insert(0, 0, "# "))
    await editing.save_buffer(buffer)
    assert stat.S_IMODE(source.stat().st_mode) == 0o640


async def test_an_edit_outside_the_buffer_is_rejected_and_changes_nothing(editing: CoreEditing, source: Path) -> None:
    buffer = await editing.open_file(source)
    with pytest.raises(ValidationError):
        await editing.edit_text(buffer, edit((9, 0), (9, 1), "x"))
    with pytest.raises(ValidationError, match="ends before it starts"):
        await editing.edit_text(buffer, edit((1, 3), (0, 1), "x"))
    assert await editing.get_buffer_content(buffer) == source.read_text(encoding="utf-8")
    assert (await editing.list_buffers())[0].version == 0


async def test_a_file_that_is_not_utf8_is_refused_with_how_to_fix_it(editing: CoreEditing, tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("café".encode("latin-1"))
    with pytest.raises(ValidationError, match=r"not UTF-8.*Convert the file to UTF-8"):
        await editing.open_file(path)
    assert await editing.list_buffers() == []


async def test_an_unknown_buffer_is_not_found(editing: CoreEditing) -> None:
    with pytest.raises(NotFoundError, match="open the file first"):
        await editing.get_buffer_content(BufferId("nope"))


async def test_closing_forgets_the_buffer(editing: CoreEditing, source: Path) -> None:
    buffer = await editing.open_file(source)
    await editing.close_buffer(buffer)
    assert await editing.list_buffers() == []
    with pytest.raises(NotFoundError):
        await editing.edit_text(buffer, insert(0, 0, "x"))


async def test_undo_and_redo_each_count_a_revision(editing: CoreEditing, source: Path) -> None:
    buffer = await editing.open_file(source)
    original = source.read_text(encoding="utf-8")
    await editing.edit_text(buffer, insert(0, 0, "wild "))
    assert await editing.undo(buffer) == 2
    assert await editing.get_buffer_content(buffer) == original
    assert await editing.redo(buffer) == 3
    assert await editing.get_buffer_content(buffer) == "wild " + original


async def test_subscribers_see_each_revision_once_in_order_with_its_client(editing: CoreEditing, source: Path) -> None:
    buffer = await editing.open_file(source)
    seen: list[BufferChange] = []
    unsubscribe = editing.subscribe(buffer, seen.append)
    await editing.edit_text(buffer, insert(0, 0, "a"), client="alice")
    await editing.undo(buffer)
    unsubscribe()
    await editing.edit_text(buffer, insert(0, 0, "b"), client="bob")
    assert [(c.revision, c.client) for c in seen] == [(1, "alice"), (2, None)]
    assert seen[0].edits == [insert(0, 0, "a")]


async def test_changes_are_announced_as_events_with_their_revision(
    editing: CoreEditing, source: Path, events: Recorder
) -> None:
    buffer = await editing.open_file(source)
    await editing.edit_text(buffer, insert(0, 0, "x"))
    await editing.save_buffer(buffer)
    await editing.close_buffer(buffer)
    editor = [e for e in events.events if e.topic.startswith("editor.") and not e.topic.startswith("editor.core.")]
    assert [(e.topic, e.data["revision"]) for e in editor] == [
        ("editor.opened", 0),
        ("editor.changed", 1),
        ("editor.saved", 1),
        ("editor.closed", 1),
    ]
    assert all(e.data["buffer_id"] == buffer and e.data["path"] == str(source) for e in editor)


async def test_a_file_over_the_cores_line_limit_is_refused_rather_than_left_waiting(
    editing: CoreEditing, tmp_path: Path
) -> None:
    path = tmp_path / "huge.txt"
    path.write_bytes(b"x" * (64 * 2**20 + 1))  # just written: its text is sent in one 64 MiB+ line
    with pytest.raises(ValidationError, match="too large for the editor core"):
        await editing.open_file(path)
    assert await editing.list_buffers() == []
    assert editing.core.restarts == 0
