"""The language servers' lives: started on first use, restarted when killed, stopped with the host, bounded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from symphony.hookspecs import LanguageServerError
from symphony.hookspecs.ports import CompletionItem, Position

from .conftest import Events, Workspace, eventually, language_servers, make_host

HOSTILE = Path(__file__).with_name("hostile_server.py")
DEAF = Path(__file__).with_name("deaf_server.py")


def gone(pid: int) -> bool:
    return not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


async def test_no_server_runs_before_a_buffer_is_asked_about(workspace: Workspace) -> None:
    await workspace.open("idle.py", "x = 1\n")
    assert language_servers() == []
    health = await workspace.host.health()
    assert health.components["lsp"].message == "no language server started yet"


async def test_a_killed_server_is_restarted_and_answers_again(workspace: Workspace) -> None:
    text = "import os\nos.pa"
    buffer_id = await workspace.open("restart.py", text)
    cursor = Position(line=1, character=5)
    assert "path" in [item.label for item in await workspace.language.completions(buffer_id, cursor)]
    (first,) = language_servers()
    first.kill()

    answers: list[CompletionItem] = []

    async def answered() -> bool:
        try:
            answers[:] = await workspace.language.completions(buffer_id, cursor)
        except LanguageServerError:
            return False  # the call that met the dead server, or one made while it restarts
        return True

    end = time.monotonic() + 60
    while not await answered():
        assert time.monotonic() < end, "the server did not come back"
    assert "path" in [item.label for item in answers]
    assert first.pid not in [p.pid for p in language_servers()]
    health = await workspace.host.health()
    (state,) = health.components["lsp"].details["servers"].values()
    assert (state["state"], state["restarts"]) == ("running", 1)


async def test_a_restarted_server_gets_the_buffers_edits_made_before_it_died(workspace: Workspace) -> None:
    from symphony.hookspecs.ports import TextEdit

    buffer_id = await workspace.open("reopen.py", "import json\n")
    assert await workspace.language.diagnostics(buffer_id) == []
    (first,) = language_servers()
    first.kill()
    await eventually(lambda: gone(first.pid))
    end_of_file = Position(line=1, character=0)
    await workspace.editing.edit_text(buffer_id, TextEdit(start=end_of_file, end=end_of_file, text="json.du"))
    end = time.monotonic() + 60
    while True:
        try:
            items = await workspace.language.completions(buffer_id, Position(line=1, character=7))
            break
        except LanguageServerError:
            assert time.monotonic() < end, "the server did not come back"
    assert {"dump", "dumps"} <= {item.label for item in items}


async def test_stopping_the_host_ends_its_language_servers(tmp_path: Path) -> None:
    async with make_host(tmp_path, Events()) as host:
        path = tmp_path / "stop.py"
        path.write_text("x = 1\n")
        buffer_id = await host.port("text_editing").open_file(path)
        await host.port("language").diagnostics(buffer_id)
        pids = [p.pid for p in language_servers()]
        assert len(pids) == 1
    assert all(gone(pid) for pid in pids)


def test_a_server_dies_with_a_host_killed_by_sigkill(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, psutil, sys
        from pathlib import Path
        from symphony.host import Host, Settings

        async def main():
            root = Path({str(tmp_path)!r})
            (root / "a.py").write_text("x = 1\\n")
            async with Host(Settings(data_dir=root / "data", cache_dir=root / "cache")) as host:
                buffer_id = await host.port("text_editing").open_file(root / "a.py")
                await host.port("language").diagnostics(buffer_id)
                servers = [p for p in psutil.Process().children(recursive=True)
                           if any("jedi-language-server" in part for part in p.cmdline())]
                print(servers[0].pid, flush=True)
                await asyncio.sleep(120)

        asyncio.run(main())
        """
    )
    host = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert host.stdout is not None
        server = int(host.stdout.readline())
        os.kill(host.pid, signal.SIGKILL)
        host.wait(timeout=30)
        end = time.monotonic() + 30
        while not gone(server):
            assert time.monotonic() < end, "the language server outlived its host"
            time.sleep(0.05)
    finally:
        host.kill()
        host.wait()


async def test_a_missing_server_command_names_the_setting_to_fix(tmp_path: Path) -> None:
    servers = {"python": {"command": ["no-such-language-server"], "suffixes": [".py"]}}
    async with make_host(tmp_path, Events(), servers=servers) as host:
        path = tmp_path / "a.py"
        path.write_text("x = 1\n")
        buffer_id = await host.port("text_editing").open_file(path)
        with pytest.raises(LanguageServerError) as raised:
            await host.port("language").hover(buffer_id, Position(line=0, character=0))
        message = str(raised.value)
        assert "'no-such-language-server' was not found on PATH" in message
        assert "components.lsp.options.servers.python.command" in message
        health = await host.health()
        assert health.components["lsp"].status == "failed"


async def test_a_server_announcing_a_huge_message_is_cut_off_not_buffered(tmp_path: Path) -> None:
    hostile = {"command": [sys.executable, str(HOSTILE)], "suffixes": [".hostile"]}
    async with make_host(tmp_path, Events(), servers={"hostile": hostile}, max_restarts=0) as host:
        path = tmp_path / "a.hostile"
        path.write_text("anything\n")
        buffer_id = await host.port("text_editing").open_file(path)
        before = psutil.Process().memory_info().rss
        with pytest.raises(LanguageServerError) as raised:
            await host.port("language").hover(buffer_id, Position(line=0, character=0))
        assert "a message of 1099511627776 bytes, over the limit of 67108864" in str(raised.value)
        assert "components.lsp.options.max_message_bytes" in str(raised.value)
        assert psutil.Process().memory_info().rss - before < 64 * 1024 * 1024


async def test_a_server_that_stops_reading_is_cut_off_instead_of_queueing_without_bound(tmp_path: Path) -> None:
    deaf = {"command": [sys.executable, str(DEAF)], "suffixes": [".deaf"]}
    options = {"servers": {"deaf": deaf}, "max_restarts": 0, "max_message_bytes": 1024}
    async with make_host(tmp_path, Events(), **options) as host:
        path = tmp_path / "big.deaf"
        path.write_text("x" * 300_000)  # more than the pipe holds: the rest waits in the host for the server
        buffer_id = await host.port("text_editing").open_file(path)
        with pytest.raises(LanguageServerError, match=r"stopped reading its input \(\d+ bytes waiting for it\)"):
            await host.port("language").hover(buffer_id, Position(line=0, character=0))
