"""``mcp_call`` and ``mcp_cold``: the confined MCP bridge against the SDK's own stdio client, in the same run.

Both use the real ``mcp-server-time`` (the root ``test`` extra installs it).

- ``mcp_call``: one trivial tool call (``get_current_time``) through the ``mcp``
  runtime's instance (the server confined: Landlock, seccomp, rlimits, a private
  network) against the same call with the SDK's ``stdio_client`` and
  ``ClientSession`` on an unconfined server; median per call. Goal <= 1.3x.
- ``mcp_cold``: from nothing to the first tool list, confined (``McpRuntime.start``,
  which initialises and lists the tools) against unconfined (``stdio_client``,
  ``initialize``, ``list_tools``); median of several starts. Goal <= 1.2x.

(The module is not called ``mcp.py``: ``python benchmarks/run.py`` puts this folder first on
sys.path, where that name would hide the SDK.)
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from benchmarks.run import Record, record

if TYPE_CHECKING:
    from symphony.sandbox.mcp.runtime import McpInstance

ARGUMENTS: Final = {"timezone": "UTC"}


def _server() -> list[str]:
    found = shutil.which("mcp-server-time", path=str(Path(sys.executable).parent)) or shutil.which("mcp-server-time")
    if found is None:
        raise SystemExit("mcp-server-time is not installed; scripts/setup.sh installs the root 'test' extra")
    return [found, "--local-timezone", "UTC"]


async def _no_host_calls(method: str, params: dict[str, Any]) -> Any:
    raise RuntimeError(f"the time server made a host call ({method})")


def _launch() -> Any:
    from symphony.hookspecs.runtimes import Launch

    return Launch(
        name="time", kind="mcp", entry="", command=tuple(_server()), operations=("get_current_time",), timeout=30.0
    )


async def _confined_start() -> McpInstance:
    from symphony.sandbox.mcp.runtime import McpRuntime

    return await McpRuntime().start(_launch(), _no_host_calls)


async def _timed(call: Callable[[], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    await call()
    return time.perf_counter() - start


async def _calls(count: int) -> tuple[float, float]:
    """Median per call of each, the two calls alternating so that a busy moment costs both alike."""
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    instance = await _confined_start()
    argv = _server()
    params = StdioServerParameters(command=argv[0], args=argv[1:])
    confined: list[float] = []
    direct: list[float] = []
    try:
        with open(os.devnull, "w") as quiet:
            async with stdio_client(params, errlog=quiet) as streams, ClientSession(*streams) as session:
                await session.initialize()

                def bridged() -> Awaitable[Any]:
                    return instance.invoke("get_current_time", ARGUMENTS)

                def sdk() -> Awaitable[Any]:
                    return session.call_tool("get_current_time", ARGUMENTS)

                for index in range(count + max(5, count // 10)):
                    pair = (await _timed(bridged), await _timed(sdk))
                    if index >= max(5, count // 10):  # after the warm-up
                        confined.append(pair[0])
                        direct.append(pair[1])
    finally:
        await instance.close()
    return statistics.median(confined), statistics.median(direct)


async def _cold(starts: int) -> tuple[float, float]:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    argv = _server()
    params = StdioServerParameters(command=argv[0], args=argv[1:])
    confined: list[float] = []
    direct: list[float] = []
    with open(os.devnull, "w") as quiet:
        for _ in range(starts):  # interleaved, so a busy moment of the machine costs both alike
            start = time.perf_counter()
            instance = await _confined_start()
            confined.append(time.perf_counter() - start)
            await instance.close()
            start = time.perf_counter()
            async with stdio_client(params, errlog=quiet) as streams, ClientSession(*streams) as session:
                await session.initialize()
                await session.list_tools()
                direct.append(time.perf_counter() - start)
    return statistics.median(confined), statistics.median(direct)


def run_call(quick: bool) -> list[Record]:
    count = 200 if quick else 1000
    confined, direct = asyncio.run(_calls(count))
    baseline = "the same call with the SDK's stdio client, server unconfined"
    return [record(f"mcp_call.confined@{count}", confined * 1e6, "us", baseline, direct * 1e6, goal="<= 1.3x")]


def run_cold(quick: bool) -> list[Record]:
    starts = 5 if quick else 15
    confined, direct = asyncio.run(_cold(starts))
    baseline = "unconfined start with the SDK's stdio client to the first tool list"
    return [record(f"mcp_cold.confined@{starts}", confined * 1e3, "ms", baseline, direct * 1e3, goal="<= 1.2x")]
