"""The builtin text-editing provider: buffers over real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from symphony.builtin_plugins.editor.buffers import Buffers
from symphony.hookspecs import BufferId, NotFoundError, ValidationError
from symphony.hookspecs.ports import Position, TextEdit, TextEditingPort


def edit(start: tuple[int, int], end: tuple[int, int], text: str) -> TextEdit:
    return TextEdit(
        start=Position(line=start[0], character=start[1]), end=Position(line=end[0], character=end[1]), text=text
    )


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "poem.txt"
    path.write_text("roses are red\nviolets are blue\n", encoding="utf-8")
    return path


def test_buffers_satisfy_the_port_protocol() -> None:
    assert isinstance(Buffers(), TextEditingPort)


async def test_opening_the_same_file_twice_gives_the_same_buffer(source: Path) -> None:
    buffers = Buffers()
    assert await buffers.open_file(source) == await buffers.open_file(source)


async def test_edits_replace_ranges_across_lines(source: Path) -> None:
    buffers = Buffers()
    buffer = await buffers.open_file(source)
    await buffers.edit_text(buffer, edit((0, 10), (1, 7), "green\nskies"))
    assert await buffers.get_buffer_content(buffer) == "roses are green\nskies are blue\n"


async def test_save_writes_the_file_and_clears_dirty(source: Path) -> None:
    buffers = Buffers()
    buffer = await buffers.open_file(source)
    await buffers.edit_text(buffer, edit((0, 0), (0, 0), "> "))
    assert (await buffers.list_buffers())[0].dirty
    await buffers.save_buffer(buffer)
    assert source.read_text(encoding="utf-8").startswith("> roses")
    (info,) = await buffers.list_buffers()
    assert not info.dirty and info.version == 1
    assert [p.name for p in source.parent.iterdir()] == ["poem.txt"]  # no temporary left behind


async def test_an_edit_outside_the_buffer_is_rejected_and_changes_nothing(source: Path) -> None:
    buffers = Buffers()
    buffer = await buffers.open_file(source)
    with pytest.raises(ValidationError, match="Line 9 is outside the buffer"):
        await buffers.edit_text(buffer, edit((9, 0), (9, 1), "x"))
    with pytest.raises(ValidationError, match="ends before it starts"):
        await buffers.edit_text(buffer, edit((1, 3), (0, 1), "x"))
    assert await buffers.get_buffer_content(buffer) == source.read_text(encoding="utf-8")


async def test_an_unknown_buffer_is_not_found() -> None:
    with pytest.raises(NotFoundError, match="open the file first"):
        await Buffers().get_buffer_content(BufferId("nope"))


async def test_closing_forgets_the_buffer(source: Path) -> None:
    buffers = Buffers()
    buffer = await buffers.open_file(source)
    await buffers.close_buffer(buffer)
    assert await buffers.list_buffers() == []
