"""The client's side of the protocol against a scripted server: its requests answered, whole-text sync, shutdown."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from symphony.hookspecs.ports import Position, TextEdit

from .conftest import Events, make_host

SCRIPTED = Path(__file__).with_name("scripted_server.py")
SERVERS = {
    "demo": {
        "command": [sys.executable, str(SCRIPTED)],
        "suffixes": [".demo"],
        "settings": {"demo": {"greeting": "hello"}},
        "root_markers": ["root.marker"],
    }
}


async def seen_by_server(host: Any, buffer_id: str) -> dict[str, Any]:
    text = await host.port("language").hover(buffer_id, Position(line=0, character=0))
    assert text is not None
    seen: dict[str, Any] = json.loads(text)
    return seen


async def test_the_servers_own_requests_are_answered(tmp_path: Path) -> None:
    async with make_host(tmp_path, Events(), servers=SERVERS) as host:
        path = tmp_path / "a.demo"
        path.write_text("one\n")
        buffer_id = await host.port("text_editing").open_file(path)
        end = time.monotonic() + 30
        while len(answers := (await seen_by_server(host, buffer_id))["answers"]) < 3:  # answered concurrently
            assert time.monotonic() < end, f"the client answered only {answers}"
            await asyncio.sleep(0.02)
        assert answers == {"config": ["hello"], "progress": None, "unknown": -32601}


async def test_a_server_that_takes_whole_texts_gets_the_edited_text(tmp_path: Path) -> None:
    async with make_host(tmp_path, Events(), servers=SERVERS) as host:
        path = tmp_path / "a.demo"
        path.write_text("one\n")
        editing = host.port("text_editing")
        buffer_id = await editing.open_file(path)
        assert (await seen_by_server(host, buffer_id))["texts"] == {path.as_uri(): "one\n"}
        start = Position(line=0, character=3)
        await editing.edit_text(buffer_id, TextEdit(start=start, end=start, text=" two 😀"))
        assert (await seen_by_server(host, buffer_id))["texts"] == {path.as_uri(): "one two 😀\n"}


async def test_a_burst_of_edits_reaches_a_whole_text_server_as_the_final_text(tmp_path: Path) -> None:
    async with make_host(tmp_path, Events(), servers=SERVERS) as host:
        path = tmp_path / "burst.demo"
        path.write_text("")
        editing = host.port("text_editing")
        buffer_id = await editing.open_file(path)
        await seen_by_server(host, buffer_id)
        typed = "x = '漢字😀' + str(42)"
        column = 0
        for char in typed:
            here = Position(line=0, character=column)
            await editing.edit_text(buffer_id, TextEdit(start=here, end=here, text=char))
            column += len(char.encode("utf-16-le")) // 2
        assert (await seen_by_server(host, buffer_id))["texts"] == {path.as_uri(): typed}


async def test_a_question_an_edit_overtook_is_asked_again(tmp_path: Path) -> None:
    async with make_host(tmp_path, Events(), servers=SERVERS) as host:
        path = tmp_path / "a.demo"
        path.write_text("overtaken")
        buffer_id = await host.port("text_editing").open_file(path)
        assert (await seen_by_server(host, buffer_id))["texts"] == {path.as_uri(): "asked again"}


async def test_a_buffer_closed_in_the_editor_is_closed_in_its_server(tmp_path: Path) -> None:
    async with make_host(tmp_path, Events(), servers=SERVERS) as host:
        editing = host.port("text_editing")
        kept, closed = tmp_path / "kept.demo", tmp_path / "closed.demo"
        for path in (kept, closed):
            path.write_text(path.stem)
        kept_id, closed_id = await editing.open_file(kept), await editing.open_file(closed)
        await seen_by_server(host, closed_id)
        assert set((await seen_by_server(host, kept_id))["texts"]) == {kept.as_uri(), closed.as_uri()}
        await editing.close_buffer(closed_id)
        end = time.monotonic() + 30
        while closed.as_uri() in (await seen_by_server(host, kept_id))["texts"]:
            assert time.monotonic() < end, "the server was not told the buffer closed"
            await asyncio.sleep(0.02)


async def test_the_server_is_shut_down_in_its_workspace_root_when_the_host_stops(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "root.marker").write_text("")
    async with make_host(tmp_path, Events(), servers=SERVERS) as host:
        path = root / "src" / "a.demo"
        path.write_text("one\n")
        await seen_by_server(host, await host.port("text_editing").open_file(path))
        assert not (root / "exited-cleanly").exists()
    assert (root / "exited-cleanly").read_text() == "yes"
