"""new_view, get_content and close_view: opening files and resyncing content."""

from __future__ import annotations

import os
from pathlib import Path

from .support import CoreProcess, content


def test_a_file_opens_at_revision_0_clean_with_its_disk_baseline(core: CoreProcess, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("héllo 😀\n中文\n", encoding="utf-8")
    info = path.stat()
    result = core.call("new_view", {"file_path": str(path)})
    assert result == {
        "view_id": result["view_id"],
        "revision": 0,
        "dirty": False,
        "disk_mtime_ns": info.st_mtime_ns,
        "disk_size": info.st_size,
        "lines": 3,
        "length_utf16": 12,
    }
    assert content(core, result["view_id"]) == "héllo 😀\n中文\n"


def test_a_missing_file_opens_as_an_empty_buffer_without_a_baseline(core: CoreProcess, tmp_path: Path) -> None:
    result = core.call("new_view", {"file_path": str(tmp_path / "new.txt")})
    assert (result["lines"], result["length_utf16"], result["disk_mtime_ns"], result["disk_size"]) == (1, 0, None, None)


def test_a_file_that_is_not_utf8_is_refused_with_invalid_params(core: CoreProcess, tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("café".encode("latin-1"))
    error = core.error("new_view", {"file_path": str(path)})
    assert error["code"] == -32602
    assert "not UTF-8" in error["message"]


def test_invalid_utf8_deep_in_a_large_file_is_reported_at_its_byte_offset(core: CoreProcess, tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"a" * 3_000_000 + b"\xff")
    assert "byte 3000000" in core.error("new_view", {"file_path": str(path)})["message"]


def test_a_directory_is_refused_with_invalid_params(core: CoreProcess, tmp_path: Path) -> None:
    assert core.error("new_view", {"file_path": str(tmp_path)})["code"] in (-32602, -32030)


def test_an_unreadable_file_is_an_io_error_naming_the_path(core: CoreProcess, tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("x")
    path.chmod(0)
    if os.access(path, os.R_OK):  # running as root: permissions do not stop reads
        path = tmp_path / "loop"
        path.symlink_to(path)
    error = core.error("new_view", {"file_path": str(path)})
    assert error["code"] == -32030
    assert str(path) in error["message"]


def test_a_resync_takes_the_given_content_revision_dirty_flag_and_baseline(core: CoreProcess, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("on disk")
    result = core.call(
        "new_view",
        {
            "file_path": str(path),
            "content": "in memory\n",
            "revision": 41,
            "dirty": True,
            "disk_mtime_ns": 123,
            "disk_size": 7,
        },
    )
    assert (result["revision"], result["dirty"], result["disk_mtime_ns"], result["disk_size"]) == (41, True, 123, 7)
    assert content(core, result["view_id"]) == "in memory\n"


def test_view_ids_are_unique_even_for_the_same_file(core: CoreProcess, tmp_path: Path) -> None:
    path = str(tmp_path / "a.txt")
    ids = {core.call("new_view", {"file_path": path})["view_id"] for _ in range(3)}
    assert len(ids) == 3


def test_get_content_returns_the_text_and_revision(core: CoreProcess, tmp_path: Path) -> None:
    view = core.call("new_view", {"file_path": str(tmp_path / "a"), "content": "abc", "revision": 5})["view_id"]
    assert core.call("get_content", {"view_id": view}) == {"text": "abc", "revision": 5}


def test_a_closed_view_is_gone(core: CoreProcess, tmp_path: Path) -> None:
    view = core.call("new_view", {"file_path": str(tmp_path / "a")})["view_id"]
    assert core.call("close_view", {"view_id": view}) is None
    assert core.error("get_content", {"view_id": view})["code"] == -32001


def test_an_unknown_view_is_refused_with_no_such_view(core: CoreProcess) -> None:
    error = core.error("get_content", {"view_id": "view-id-99"})
    assert error["code"] == -32001
    assert "new_view" in error["message"]


def test_a_file_path_that_is_not_a_string_is_invalid_params(core: CoreProcess) -> None:
    error = core.error("new_view", {"file_path": 7})
    assert (error["code"], error["message"]) == (-32602, "params.file_path must be a string, got a JSON int.")


def test_a_boolean_revision_is_not_an_integer(core: CoreProcess, tmp_path: Path) -> None:
    error = core.error("new_view", {"file_path": str(tmp_path / "a"), "content": "", "revision": True})
    assert error["code"] == -32602
