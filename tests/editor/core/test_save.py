"""save: atomic, keeps the file's mode, refuses to overwrite a file changed on disk unless forced."""

from __future__ import annotations

import os
from pathlib import Path

from .support import CoreProcess, replace


def _edit_file(core: CoreProcess, path: Path) -> str:
    view_id: str = core.call("new_view", {"file_path": str(path)})["view_id"]
    core.call("edit", replace(view_id, (0, 0), (0, 0), "new "))
    return view_id


def test_save_writes_the_buffer_and_returns_the_new_baseline(core: CoreProcess, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("text 😀\n")
    view = _edit_file(core, path)
    result = core.call("save", {"view_id": view})
    info = path.stat()
    assert result == {"revision": 1, "disk_mtime_ns": info.st_mtime_ns, "disk_size": info.st_size}
    assert path.read_text() == "new text 😀\n"


def test_save_marks_the_buffer_clean(core: CoreProcess, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    view = _edit_file(core, path)
    core.call("save", {"view_id": view})
    notifications, _ = core.exchange("edit", replace(view, (0, 0), (0, 0), "x"))
    assert notifications[0]["params"]["dirty"] is True
    core.call("save", {"view_id": view})
    assert path.read_text() == "xnew "


def test_save_keeps_an_existing_files_mode(core: CoreProcess, tmp_path: Path) -> None:
    path = tmp_path / "script.sh"
    path.write_text("echo\n")
    path.chmod(0o751)
    core.call("save", {"view_id": _edit_file(core, path)})
    assert (path.stat().st_mode & 0o777, path.read_text()) == (0o751, "new echo\n")


def test_a_new_file_gets_the_users_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        core = CoreProcess()
    finally:
        os.umask(old)
    try:
        path = tmp_path / "new.txt"
        core.call("save", {"view_id": _edit_file(core, path)})
        assert path.stat().st_mode & 0o777 == 0o640
    finally:
        core.close()


def test_saving_through_a_symlink_writes_its_target_and_keeps_the_link(core: CoreProcess, tmp_path: Path) -> None:
    target = tmp_path / "target.txt"
    target.write_text("text")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    core.call("save", {"view_id": _edit_file(core, link)})
    assert (link.is_symlink(), target.read_text()) == (True, "new text")


def test_save_leaves_no_temporary_file(core: CoreProcess, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    core.call("save", {"view_id": _edit_file(core, path)})
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_a_file_changed_on_disk_is_not_overwritten(core: CoreProcess, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("original")
    view = _edit_file(core, path)
    path.write_text("changed by someone else")
    info = path.stat()
    error = core.error("save", {"view_id": view})
    assert (error["code"], error["data"]) == (-32020, {"disk_mtime_ns": info.st_mtime_ns, "disk_size": info.st_size})
    assert "force" in error["message"]
    assert path.read_text() == "changed by someone else"


def test_a_file_created_on_disk_after_opening_a_missing_one_is_a_conflict(core: CoreProcess, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    view = _edit_file(core, path)
    path.write_text("created meanwhile")
    assert core.error("save", {"view_id": view})["code"] == -32020


def test_a_file_deleted_on_disk_is_a_conflict_with_no_baseline(core: CoreProcess, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("x")
    view = _edit_file(core, path)
    path.unlink()
    error = core.error("save", {"view_id": view})
    assert (error["code"], error["data"]) == (-32020, {"disk_mtime_ns": None, "disk_size": None})
    assert not path.exists()


def test_force_overwrites_a_file_changed_on_disk(core: CoreProcess, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("original")
    view = _edit_file(core, path)
    path.write_text("changed by someone else")
    core.call("save", {"view_id": view, "force": True})
    assert path.read_text() == "new original"


def test_a_resynced_view_conflicts_against_the_given_baseline_not_the_disk(core: CoreProcess, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("on disk")
    info = path.stat()
    params = {"file_path": str(path), "content": "mine", "disk_mtime_ns": info.st_mtime_ns, "disk_size": info.st_size}
    same = core.call("new_view", params)["view_id"]
    stale = core.call("new_view", {**params, "disk_mtime_ns": info.st_mtime_ns - 1})["view_id"]
    assert core.error("save", {"view_id": stale})["code"] == -32020
    core.call("save", {"view_id": same})
    assert path.read_text() == "mine"


def test_saving_into_a_missing_directory_is_an_io_error_naming_the_path(core: CoreProcess, tmp_path: Path) -> None:
    path = tmp_path / "gone" / "a.txt"
    error = core.error("save", {"view_id": _edit_file(core, path)})
    assert error["code"] == -32030
    assert str(path) in error["message"]
    assert core.call("ping") == {}
