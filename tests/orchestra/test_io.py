"""file-read, file-write and http-request against the real filesystem and a real loopback server."""

from __future__ import annotations

from pathlib import Path

import pytest

from symphony.builtin_plugins.orchestra.io import file_read, file_write, http_request
from symphony.hookspecs import NetworkError, NotFoundError, ValidationError

from .server import chat_server


async def test_written_files_can_be_read_back(tmp_path: Path) -> None:
    written = await file_write(str(tmp_path))({})({"path": "out/result.json", "content": {"a": 1}})
    assert written == {"path": str(tmp_path / "out" / "result.json"), "bytes": 12}
    read = await file_read(str(tmp_path))({"json": True})({"path": "out/result.json"})
    assert read["value"] == {"a": 1}


async def test_paths_escaping_the_root_are_refused(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "secret.txt").write_text("no")
    (tmp_path / "root" / "link").symlink_to(tmp_path / "secret.txt")
    reader = file_read(str(tmp_path / "root"))({})
    for path in ("../secret.txt", "link", "/etc/passwd"):
        with pytest.raises(ValidationError, match="resolves outside its root"):
            await reader({"path": path})
    with pytest.raises(ValidationError, match="resolves outside its root"):
        await file_write(str(tmp_path / "root"))({})({"path": "../x.txt", "content": "x"})
    assert not (tmp_path / "x.txt").exists()


async def test_a_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no file"):
        await file_read(str(tmp_path))({})({"path": "nope.txt"})


async def test_http_request_returns_status_headers_text_and_json() -> None:
    with chat_server() as server:
        got = await http_request({"url": f"{server.url}/hello"})({})
        posted = await http_request({"method": "POST"})({"url": f"{server.url}/echo", "body": {"x": 1}})
    assert got["status"] == 200 and got["json"]["path"] == "/hello"
    assert got["headers"]["content-type"] == "application/json"
    assert posted["json"] == {"echo": {"x": 1}, "path": "/echo"}


async def test_http_request_errors_are_clear() -> None:
    with pytest.raises(ValidationError, match=r"config\.method must be one of"):
        http_request({"method": "BREW"})
    with pytest.raises(ValidationError, match="needs an http\\(s\\) URL"):
        await http_request({})({"url": "ftp://x"})
    with pytest.raises(NetworkError, match=r"GET http://127\.0\.0\.1:9/ failed"):
        await http_request({"url": "http://127.0.0.1:9/"})({})
