"""MCP servers as extensions: real servers, confined, spoken to with the SDK's ClientSession."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from symphony.hookspecs import ExtensionError, RetryPolicy, ValidationError
from symphony.hookspecs.runtimes import ExtensionCrashedError, ExtensionTimeoutError, PathRule
from symphony.host.extensions._manager import ExtensionManager
from symphony.host.extensions._runtime import server_command
from symphony.sandbox.mcp.runtime import McpRuntime
from tests.mcp.mcp_servers import SERVERS, git_launch, probe_launch, refuse_host_calls, started, time_launch


async def test_a_tool_call_on_the_time_server_returns_its_structured_result() -> None:
    async with started(time_launch()) as instance:
        answer = await instance.invoke("get_current_time", {"timezone": "Asia/Tokyo"})
    assert answer["result"]["timezone"] == "Asia/Tokyo"
    assert answer["result"]["datetime"].endswith("+09:00")
    assert '"timezone": "Asia/Tokyo"' in answer["text"]
    assert answer["content"][0]["type"] == "text"


async def test_the_tool_list_gives_each_tools_name_and_input_schema() -> None:
    async with started(time_launch()) as instance:
        tools = {tool["name"]: tool for tool in (await instance.invoke("mcp/tools/list", {}))["tools"]}
    assert sorted(tools) == ["convert_time", "get_current_time"]
    assert tools["get_current_time"]["inputSchema"]["required"] == ["timezone"]


async def test_a_tool_the_manifest_does_not_contribute_is_refused() -> None:
    async with started(probe_launch()) as instance:
        with pytest.raises(ExtensionError, match="contributes no MCP tool 'undeclared'"):
            await instance.invoke("undeclared", {})


async def test_a_contributed_tool_the_server_lacks_stops_the_start_naming_it() -> None:
    with pytest.raises(ExtensionError, match="offers no tool 'get_weather', which its manifest contributes"):
        async with started(time_launch(operations=("get_current_time", "get_weather"))):
            pass


async def test_a_tool_error_is_an_extension_error_with_the_tools_message_and_the_server_lives_on() -> None:
    async with started(probe_launch()) as instance:
        with pytest.raises(
            ExtensionError, match="MCP tool 'fail' of extension 'probe' failed: Error executing tool fail: disk on fire"
        ):
            await instance.invoke("fail", {"reason": "disk on fire"})
        assert (await instance.invoke("echo", {"text": "still here"}))["result"] == {"echoed": "still here"}


async def test_resources_are_listed_and_read() -> None:
    async with started(probe_launch()) as instance:
        listed = await instance.invoke("mcp/resources/list", {})
        read = await instance.invoke("mcp/resources/read", {"uri": "probe://greeting"})
    assert [resource["uri"] for resource in listed["resources"]] == ["probe://greeting"]
    assert read["contents"][0]["text"] == "hello from a resource"


async def test_prompts_are_listed_and_rendered_with_their_arguments() -> None:
    async with started(probe_launch()) as instance:
        listed = await instance.invoke("mcp/prompts/list", {})
        prompt = await instance.invoke("mcp/prompts/get", {"name": "review", "arguments": {"language": "Rust"}})
    assert [item["name"] for item in listed["prompts"]] == ["review"]
    assert prompt["messages"][0]["content"]["text"] == "Review this Rust code."


async def test_a_reserved_operation_with_bad_input_says_what_it_needs() -> None:
    async with started(probe_launch()) as instance:
        with pytest.raises(ValidationError, match="mcp/resources/read needs 'uri' as a non-empty string"):
            await instance.invoke("mcp/resources/read", {})


async def test_a_server_killed_mid_call_costs_that_call_a_crash_error() -> None:
    async with started(probe_launch()) as instance:
        call = asyncio.ensure_future(instance.invoke("hang", {"seconds": 60}))
        await asyncio.sleep(0)
        os.kill(instance.stats().pid or 0, signal.SIGKILL)
        with pytest.raises(ExtensionCrashedError, match=r"the server (exited|stopped reading its input)"):
            await call


async def test_garbage_on_stdout_costs_the_call_a_crash_error() -> None:
    async with started(probe_launch()) as instance:
        with pytest.raises(ExtensionCrashedError, match="not a JSON-RPC message: b'this is not json-rpc"):
            await instance.invoke("garbage", {})


async def test_a_hanging_tool_is_stopped_at_the_timeout() -> None:
    async with started(probe_launch(timeout=2.0)) as instance:
        with pytest.raises(ExtensionTimeoutError, match="did not answer within 2 s while calling tool 'hang'"):
            await instance.invoke("hang", {"seconds": 120})
        assert instance.server.process.returncode is not None


async def test_the_git_server_reads_its_granted_repository(repositories: tuple[Path, Path]) -> None:
    granted, _ = repositories
    async with started(git_launch(granted)) as instance:
        answer = await instance.invoke("git_log", {"repo_path": str(granted)})
    assert "granted commit" in answer["text"]


async def test_the_git_server_cannot_read_a_repository_outside_its_grant(repositories: tuple[Path, Path]) -> None:
    granted, secret = repositories
    async with started(git_launch(granted)) as instance:
        with pytest.raises(ExtensionError, match="MCP tool 'git_log' of extension 'git' failed") as refused:
            await instance.invoke("git_log", {"repo_path": str(secret)})
    assert "secret commit" not in str(refused.value)


async def test_after_a_crash_the_manager_restarts_the_server_for_the_next_call() -> None:
    fast = RetryPolicy(max_attempts=3, backoff_initial=0.01, backoff_multiplier=1.0, backoff_max=0.01)
    manager = ExtensionManager({"mcp": McpRuntime()}, lambda name: refuse_host_calls, backoff=fast)
    manager.register(probe_launch())
    try:
        with pytest.raises(ExtensionCrashedError):
            await manager.invoke("probe", "garbage", {})
        answer = await manager.invoke("probe", "echo", {"text": "again"})
        [stats] = manager.ps()
    finally:
        await manager.close()
    assert answer["result"] == {"echoed": "again"}
    assert (stats.failures, stats.restarts, stats.invocations) == (1, 1, 2)


async def test_a_file_outside_the_grants_is_refused_by_landlock(tmp_path: Path) -> None:
    readable = tmp_path / "granted.txt"
    readable.write_text("granted text", encoding="utf-8")
    hidden = tmp_path / "hidden.txt"
    hidden.write_text("hidden text", encoding="utf-8")
    rules = (PathRule(path=str(readable), operations=("read",)),)
    async with started(probe_launch(file_rules=rules)) as instance:
        assert (await instance.invoke("read_file", {"path": str(readable)}))["text"] == "granted text"
        with pytest.raises(ExtensionError, match=r"cannot read: \[Errno 13\] Permission denied"):
            await instance.invoke("read_file", {"path": str(hidden)})


async def test_a_python_entry_serves_as_the_server_in_the_extensions_interpreter() -> None:
    launch = probe_launch(command=(), entry="probe_server:main", sys_path=(str(SERVERS),))
    async with started(launch) as instance:
        assert (await instance.invoke("echo", {"text": "from an entry"}))["result"] == {"echoed": "from an entry"}


def test_the_host_runs_a_console_script_of_the_extensions_environment_with_its_python() -> None:
    python = Path(sys.executable)
    assert server_command("clock", ("mcp-server-time", "--local-timezone", "UTC"), python) == (
        str(python),
        str(python.parent / "mcp-server-time"),
        "--local-timezone",
        "UTC",
    )


def test_a_server_program_found_nowhere_is_named_with_where_it_was_looked_for(tmp_path: Path) -> None:
    with pytest.raises(ExtensionError, match=f"'no-such-server', which is neither in {tmp_path} nor PATH"):
        server_command("clock", ("no-such-server",), tmp_path / "python")
