"""Several clients on one buffer: edits ordered by revision, an old revision's edit transformed or refused."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from symphony.builtin_plugins.editor.bridge.port import CoreEditing
from symphony.hookspecs import ValidationError
from symphony.hookspecs.ports import BufferChange

from .support import edit, eventually, insert


async def test_two_clients_edits_are_applied_in_one_order_each_with_its_own_revision(
    editing: CoreEditing, source: Path
) -> None:
    buffer = await editing.open_file(source)
    seen: list[BufferChange] = []
    editing.subscribe(buffer, seen.append)
    alice = [editing.edit_text(buffer, insert(0, 0, "a"), client="alice") for _ in range(20)]
    bob = [editing.edit_text(buffer, insert(1, 0, "b"), client="bob") for _ in range(20)]
    revisions = await asyncio.gather(*(call for pair in zip(alice, bob, strict=True) for call in pair))
    assert sorted(revisions) == list(range(1, 41))
    assert [c.revision for c in seen] == list(range(1, 41))
    assert {c.client for c in seen} == {"alice", "bob"}
    assert await editing.get_buffer_content(buffer) == "a" * 20 + "roses are red\n" + "b" * 20 + "violets are blue\n"


async def test_an_edit_against_an_older_revision_after_the_changes_is_shifted_over_them(
    editing: CoreEditing, source: Path
) -> None:
    buffer = await editing.open_file(source)
    await editing.edit_text(buffer, insert(0, 0, "two\nnew lines\n"), client="alice")  # revision 1
    # bob still sees revision 0: "violets" is on line 1 for him
    assert await editing.edit_text(buffer, edit((1, 0), (1, 7), "tulips"), revision=0, client="bob") == 2
    assert await editing.get_buffer_content(buffer) == "two\nnew lines\nroses are red\ntulips are blue\n"


async def test_an_edit_against_an_older_revision_that_overlaps_a_change_is_refused_naming_the_current_one(
    editing: CoreEditing, source: Path
) -> None:
    buffer = await editing.open_file(source)
    await editing.edit_text(buffer, edit((0, 10), (0, 13), "green"), client="alice")
    with pytest.raises(ValidationError, match="Current revision: 1; read the buffer again"):
        await editing.edit_text(buffer, edit((0, 6), (0, 13), "were red"), revision=0, client="bob")
    assert await editing.get_buffer_content(buffer) == "roses are green\nviolets are blue\n"


async def test_an_edit_against_a_revision_before_the_cores_last_restart_is_refused_naming_the_current_one(
    editing: CoreEditing, source: Path
) -> None:
    buffer = await editing.open_file(source)
    await editing.edit_text(buffer, insert(0, 0, "a"))
    await editing.edit_text(buffer, insert(0, 0, "b"))
    pid = editing.core.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    await eventually(lambda: editing.core.restarts == 1 and editing.core.state == "running", "the core restarted")
    with pytest.raises(ValidationError, match="Current revision: 2; read the buffer again"):
        await editing.edit_text(buffer, insert(1, 0, "c"), revision=1)
    assert await editing.edit_text(buffer, insert(1, 0, "c"), revision=2) == 3
