"""The host's mirror of a buffer: edits in UTF-16 positions applied as the core applies them, and refetching."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from symphony.builtin_plugins.editor.bridge.replay import utf16_index
from symphony.builtin_plugins.editor.bridge.sync import SyncedBuffer
from symphony.hookspecs import BufferId


def change(line: int, start: int, end: int, text: str) -> list[dict[str, Any]]:
    return [{"start": {"line": line, "character": start}, "end": {"line": line, "character": end}, "text": text}]


def buffer(text: str) -> SyncedBuffer:
    return SyncedBuffer(BufferId("b"), Path("/tmp/b.txt"), text, (5, 3))


@pytest.mark.parametrize(
    ("line", "units", "index"),
    [("abc", 2, 2), ("a😀b", 3, 2), ("a😀b", 4, 3), ("漢字c", 2, 2), ("", 0, 0)],
)
def test_a_utf16_offset_maps_to_the_python_index(line: str, units: int, index: int) -> None:
    assert utf16_index(line, units) == index


@pytest.mark.parametrize(("line", "units"), [("a😀b", 2), ("abc", 4), ("漢字", 3)])
def test_an_offset_inside_a_surrogate_pair_or_past_the_end_is_refused(line: str, units: int) -> None:
    with pytest.raises(ValueError, match=r"surrogate pair|past the end"):
        utf16_index(line, units)


def test_recorded_edits_change_the_mirrored_text() -> None:
    mirror = buffer("a😀b\nline two")
    mirror.record(1, change(0, 3, 4, "B"), dirty=True)
    mirror.record(2, [{"start": {"line": 0, "character": 4}, "end": {"line": 1, "character": 4}, "text": "!"}], True)
    assert mirror.text() == "a😀B! two" and mirror.revision == 2 and mirror.dirty


def test_reopen_params_carry_the_text_revision_dirty_state_and_disk_baseline() -> None:
    mirror = buffer("x")
    mirror.record(1, change(0, 1, 1, "y"), dirty=True)
    assert mirror.reopen_params() == {
        "file_path": "/tmp/b.txt",
        "content": "xy",
        "revision": 1,
        "dirty": True,
        "disk_mtime_ns": 5,
        "disk_size": 3,
    }


def test_an_edit_that_does_not_fit_loses_the_mirror_until_the_cores_text_resets_it() -> None:
    mirror = buffer("short")
    with pytest.raises(ValueError, match="revision 1 does not apply"):
        mirror.record(1, change(3, 0, 0, "nowhere"), dirty=True)
    assert mirror.lost
    mirror.record(2, change(0, 0, 0, "2"), dirty=True)  # reported before the core's text arrived...
    mirror.record(3, change(0, 0, 0, "3"), dirty=True)  # ...and after it was read
    mirror.reset("2core text", revision=2)
    assert not mirror.lost and mirror.text() == "32core text" and mirror.revision == 3
