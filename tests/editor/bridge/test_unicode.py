"""Positions are UTF-16 code units, as LSP counts them: an emoji is two, a CJK ideograph one."""

from __future__ import annotations

from pathlib import Path

import pytest

from symphony.builtin_plugins.editor.bridge.port import CoreEditing
from symphony.hookspecs import ValidationError
from symphony.hookspecs.ports import BufferChange

from .support import edit, insert


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.txt"
    path.write_text("a😀b\n漢字c\n", encoding="utf-8")
    return path


async def test_an_insert_after_an_emoji_counts_it_as_two_units(editing: CoreEditing, mixed: Path) -> None:
    buffer = await editing.open_file(mixed)
    await editing.edit_text(buffer, insert(0, 3, "|"))
    assert (await editing.get_buffer_content(buffer)).splitlines()[0] == "a😀|b"


async def test_a_cjk_ideograph_counts_as_one_unit(editing: CoreEditing, mixed: Path) -> None:
    buffer = await editing.open_file(mixed)
    await editing.edit_text(buffer, edit((1, 1), (1, 2), "語"))
    assert (await editing.get_buffer_content(buffer)).splitlines()[1] == "漢語c"


async def test_deleting_an_emoji_takes_both_of_its_units(editing: CoreEditing, mixed: Path) -> None:
    buffer = await editing.open_file(mixed)
    await editing.edit_text(buffer, edit((0, 1), (0, 3), ""))
    assert await editing.get_buffer_content(buffer) == "ab\n漢字c\n"


async def test_a_position_inside_a_surrogate_pair_is_refused(editing: CoreEditing, mixed: Path) -> None:
    buffer = await editing.open_file(mixed)
    with pytest.raises(ValidationError):
        await editing.edit_text(buffer, insert(0, 2, "x"))
    assert await editing.get_buffer_content(buffer) == mixed.read_text(encoding="utf-8")


async def test_subscribers_get_the_positions_the_client_sent(editing: CoreEditing, mixed: Path) -> None:
    buffer = await editing.open_file(mixed)
    seen: list[BufferChange] = []
    editing.subscribe(buffer, seen.append)
    sent = edit((0, 1), (1, 1), "🎵")
    await editing.edit_text(buffer, sent)
    assert seen[0].edits == [sent]
    assert await editing.get_buffer_content(buffer) == "a🎵字c\n"
