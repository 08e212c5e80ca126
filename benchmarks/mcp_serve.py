"""``mcp_serve``: what ``symphony mcp serve`` adds to a workflow run, against the same run made in process.

- ``mcp_serve.call``: one ``tools/call`` of ``examples/welcome.toml`` (5 nodes, checkpointed)
  by the SDK's own client over stdio to a real ``symphony mcp serve`` subprocess, median
  per call on a warm server; against ``orchestrate`` of the same workflow and inputs on the
  conductor of a host started in this process with the same (default) plugins and fresh
  data, median per call. The difference is the protocol (JSON-RPC over pipes), the
  argument check, the ``HostContext.invoke`` hop and the JSON result.

(Not called ``mcp.py``: ``python benchmarks/run.py`` puts this folder first on sys.path.)
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Final

from benchmarks.conductor import _per_call_ms
from benchmarks.run import Record, record

ROOT: Final = Path(__file__).resolve().parents[1]
WELCOME: Final = ROOT / "examples" / "welcome.toml"
INPUTS: Final = {"user": '{"name": "Ada", "active": true, "plan": "pro"}'}


def _environment(root: Path) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SYMPHONY_")}
    environment["SYMPHONY_DATA_DIR"] = str(root / "data")
    environment["SYMPHONY_CACHE_DIR"] = str(root / "cache")
    return environment


async def _served(root: Path, repeat: int) -> float:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    command = str(Path(sys.executable).parent / "symphony")
    params = StdioServerParameters(
        command=command, args=["mcp", "serve", str(WELCOME)], cwd=str(root), env=_environment(root)
    )
    async with Client(params, read_timeout_seconds=120) as client:

        async def call() -> None:
            result = await client.call_tool("welcome", INPUTS)
            if result.is_error:
                raise RuntimeError(result.content[0].text)  # type: ignore[union-attr]

        return await _per_call_ms(call, repeat)


async def _in_process(root: Path, repeat: int) -> float:
    from symphony.builtin_plugins.workflow import load
    from symphony.hookspecs.ports import OrchestrationRequest
    from symphony.host import Host, Settings

    request = OrchestrationRequest(workflow=load(WELCOME), inputs=INPUTS)
    async with Host(Settings(data_dir=root / "data", cache_dir=root / "cache")) as host:
        conductor = host.port("conductor")

        async def call() -> None:
            result = await conductor.orchestrate(request)
            if result.state != "succeeded":
                raise RuntimeError(result.error)

        return await _per_call_ms(call, repeat)


def run(quick: bool) -> list[Record]:
    repeat = 20 if quick else 100
    with tempfile.TemporaryDirectory(prefix="bench-mcp-serve-") as scratch:
        served_root, local_root = Path(scratch) / "served", Path(scratch) / "local"
        served_root.mkdir()
        local_root.mkdir()
        served = asyncio.run(_served(served_root, repeat))
        local = asyncio.run(_in_process(local_root, repeat))
    return [
        record(
            "mcp_serve.call",
            served,
            "ms",
            "orchestrate of the same workflow on an in-process host's conductor (same plugins)",
            local,
        )
    ]
