"""edit: replace, undo and redo, with revisions, update notifications and stale-revision transformation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from symphony.builtin_plugins.editor.core.views import HISTORY

from .support import CoreProcess, content, replace


def _open(core: CoreProcess, tmp_path: Path, text: str) -> str:
    view_id: str = core.call("new_view", {"file_path": str(tmp_path / "f.txt"), "content": text})["view_id"]
    return view_id


def _update(view_id: str, revision: int, start: tuple[int, int], end: tuple[int, int], text: str) -> dict[str, Any]:
    edit = replace(view_id, start, end, text)["params"]
    return {
        "method": "update",
        "params": {"view_id": view_id, "revision": revision, "edits": [edit], "dirty": True},
    }


def test_a_replace_sends_its_update_before_the_response_and_bumps_the_revision(
    core: CoreProcess, tmp_path: Path
) -> None:
    view = _open(core, tmp_path, "hello\nworld")
    notifications, response = core.exchange("edit", replace(view, (0, 1), (1, 2), "ipp"))
    assert notifications == [_update(view, 1, (0, 1), (1, 2), "ipp")]
    assert response["result"] == {"revision": 1}
    assert content(core, view) == "hipprld"


def test_positions_count_utf16_units_so_an_emoji_is_two(core: CoreProcess, tmp_path: Path) -> None:
    view = _open(core, tmp_path, "a😀b中c")
    core.call("edit", replace(view, (0, 3), (0, 5), "X"))
    assert content(core, view) == "a😀Xc"


def test_a_carriage_return_is_part_of_the_line_text(core: CoreProcess, tmp_path: Path) -> None:
    view = _open(core, tmp_path, "ab\r\ncd")
    core.call("edit", replace(view, (0, 2), (0, 3), ""))
    assert content(core, view) == "ab\ncd"
    assert core.error("edit", replace(view, (1, 3), (1, 3), ""))["code"] == -32602


def test_a_position_inside_a_surrogate_pair_is_invalid(core: CoreProcess, tmp_path: Path) -> None:
    view = _open(core, tmp_path, "a😀b")
    error = core.error("edit", replace(view, (0, 2), (0, 2), "x"))
    assert error["code"] == -32602
    assert "surrogate pair" in error["message"]


@pytest.mark.parametrize("position", [(0, 4), (2, 0)], ids=["past-the-line", "no-such-line"])
def test_a_position_outside_the_buffer_is_invalid(core: CoreProcess, tmp_path: Path, position: tuple[int, int]) -> None:
    view = _open(core, tmp_path, "abc\n")
    assert core.error("edit", replace(view, position, position, "x"))["code"] == -32602
    assert core.call("get_content", {"view_id": view}) == {"text": "abc\n", "revision": 0}


def test_a_reversed_range_is_invalid(core: CoreProcess, tmp_path: Path) -> None:
    view = _open(core, tmp_path, "abc")
    error = core.error("edit", replace(view, (0, 2), (0, 1), ""))
    assert error["code"] == -32602
    assert "ends before it starts" in error["message"]


def test_a_position_that_is_not_an_object_of_integers_is_invalid(core: CoreProcess, tmp_path: Path) -> None:
    view = _open(core, tmp_path, "abc")
    params = replace(view, (0, 0), (0, 0), "x")
    params["params"]["start"] = {"line": "0", "character": 0}
    assert core.error("edit", params)["code"] == -32602


def test_an_unknown_edit_method_is_invalid(core: CoreProcess, tmp_path: Path) -> None:
    view = _open(core, tmp_path, "abc")
    error = core.error("edit", {"view_id": view, "method": "transpose", "params": {}})
    assert (error["code"], "replace, undo or redo" in error["message"]) == (-32602, True)


def test_an_edit_to_an_unknown_view_is_refused(core: CoreProcess) -> None:
    assert core.error("edit", replace("view-id-9", (0, 0), (0, 0), "x"))["code"] == -32001


def test_undo_reverts_the_last_edit_as_a_new_revision_with_the_inverse_update(
    core: CoreProcess, tmp_path: Path
) -> None:
    view = _open(core, tmp_path, "one\ntwo")
    core.call("edit", replace(view, (0, 1), (1, 1), "😀\nT"))
    notifications, response = core.exchange("edit", {"view_id": view, "method": "undo", "params": {}})
    assert notifications == [_update(view, 2, (0, 1), (1, 1), "ne\nt")]
    assert response["result"] == {"revision": 2}
    assert content(core, view) == "one\ntwo"


def test_redo_reapplies_what_undo_reverted(core: CoreProcess, tmp_path: Path) -> None:
    view = _open(core, tmp_path, "abc")
    core.call("edit", replace(view, (0, 1), (0, 2), "XY"))
    core.call("edit", {"view_id": view, "method": "undo"})
    notifications, response = core.exchange("edit", {"view_id": view, "method": "redo"})
    assert notifications == [_update(view, 3, (0, 1), (0, 2), "XY")]
    assert (response["result"], content(core, view)) == ({"revision": 3}, "aXYc")


def test_each_edit_is_its_own_undo_group(core: CoreProcess, tmp_path: Path) -> None:
    view = _open(core, tmp_path, "")
    for index, char in enumerate("abc"):
        core.call("edit", replace(view, (0, index), (0, index), char))
    core.call("edit", {"view_id": view, "method": "undo"})
    assert content(core, view) == "ab"


def test_undo_with_nothing_to_undo_keeps_the_revision_and_sends_no_update(core: CoreProcess, tmp_path: Path) -> None:
    view = _open(core, tmp_path, "abc")
    notifications, response = core.exchange("edit", {"view_id": view, "method": "undo"})
    assert (notifications, response["result"]) == ([], {"revision": 0})


def test_a_new_edit_clears_redo(core: CoreProcess, tmp_path: Path) -> None:
    view = _open(core, tmp_path, "abc")
    core.call("edit", replace(view, (0, 0), (0, 0), "1"))
    core.call("edit", {"view_id": view, "method": "undo"})
    core.call("edit", replace(view, (0, 0), (0, 0), "2"))
    assert core.call("edit", {"view_id": view, "method": "redo"}) == {"revision": 3}
    assert content(core, view) == "2abc"


def test_an_edit_against_an_old_revision_before_a_later_edit_is_applied_unchanged(
    core: CoreProcess, tmp_path: Path
) -> None:
    view = _open(core, tmp_path, "abc\ndef\n")
    core.call("edit", replace(view, (1, 1), (1, 1), "XX\nYY"))
    notifications, _ = core.exchange("edit", replace(view, (0, 1), (0, 2), "B", revision=0))
    assert notifications == [_update(view, 2, (0, 1), (0, 2), "B")]
    assert content(core, view) == "aBc\ndXX\nYYef\n"


def test_an_edit_against_an_old_revision_after_a_later_edit_is_shifted(core: CoreProcess, tmp_path: Path) -> None:
    view = _open(core, tmp_path, "abc\ndef\nghi")
    core.call("edit", replace(view, (0, 1), (1, 1), "😀\n\nZ"))  # "a😀\n\nZef\nghi"
    notifications, _ = core.exchange("edit", replace(view, (1, 2), (2, 1), "_", revision=0))
    assert notifications == [_update(view, 2, (2, 2), (3, 1), "_")]
    assert content(core, view) == "a😀\n\nZe_hi"


def test_an_edit_overlapping_one_applied_since_its_revision_is_refused_with_the_current_revision(
    core: CoreProcess, tmp_path: Path
) -> None:
    view = _open(core, tmp_path, "abcdef")
    core.call("edit", replace(view, (0, 2), (0, 4), "xy"))
    core.call("edit", replace(view, (0, 0), (0, 0), "0"))
    error = core.error("edit", replace(view, (0, 3), (0, 5), "!", revision=0))
    assert (error["code"], error["data"]) == (-32010, {"revision": 2})
    assert content(core, view) == "0abxyef"


def test_two_inserts_at_one_point_put_the_stale_one_first(core: CoreProcess, tmp_path: Path) -> None:
    view = _open(core, tmp_path, "ab")
    core.call("edit", replace(view, (0, 1), (0, 1), "first"))
    core.call("edit", replace(view, (0, 1), (0, 1), "second", revision=0))
    assert content(core, view) == "asecondfirstb"


def test_a_revision_newer_than_the_buffer_is_refused(core: CoreProcess, tmp_path: Path) -> None:
    view = _open(core, tmp_path, "ab")
    error = core.error("edit", replace(view, (0, 0), (0, 0), "x", revision=3))
    assert (error["code"], error["data"]) == (-32010, {"revision": 0})


def test_a_revision_older_than_the_kept_history_is_refused(core: CoreProcess, tmp_path: Path) -> None:
    view = _open(core, tmp_path, "")
    for _ in range(HISTORY + 1):
        core.call("edit", replace(view, (0, 0), (0, 0), "x"))
    error = core.error("edit", replace(view, (0, 0), (0, 0), "y", revision=0))
    assert (error["code"], error["data"]) == (-32010, {"revision": HISTORY + 1})
    assert core.call("edit", replace(view, (0, 0), (0, 0), "y", revision=1)) == {"revision": HISTORY + 2}
