"""Real MCP servers for the tests (installed from the package index into the test environment), launches
of them for the ``mcp`` runtime, and a started instance that is always closed.

(``tests/mcp`` has no ``__init__.py``: pytest puts ``tests/`` on sys.path, where a package named
``mcp`` would hide the SDK.  Test modules import this one as ``tests.mcp.mcp_servers``.)

``servers/probe_server.py`` is a small MCP server of our own (SDK ``MCPServer``) for what the
public ones cannot show: a resource, a prompt, a tool that hangs, one that writes garbage.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import pytest

from symphony.hookspecs.runtimes import HostCall, Launch, PathRule
from symphony.sandbox.mcp.runtime import McpInstance, McpRuntime

SERVERS: Final = Path(__file__).resolve().parent / "servers"
PROBE_SERVER: Final = str(SERVERS / "probe_server.py")


def server_program(name: str) -> str:
    """The absolute path of an installed MCP server's console script (in the test environment's bin/)."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; scripts/setup.sh installs the root 'test' extra, which lists it")
    return found


def mcp_launch(name: str, command: tuple[str, ...], operations: tuple[str, ...], /, **changes: Any) -> Launch:
    """A launch of the MCP server ``command`` contributing ``operations``; ``changes`` override any field."""
    fields: dict[str, Any] = {"entry": "", "command": command, "operations": operations, "timeout": 60.0, **changes}
    return Launch(name=name, kind="mcp", **fields)


def time_launch(**changes: Any) -> Launch:
    command = (server_program("mcp-server-time"), "--local-timezone", "UTC")
    return mcp_launch("time", command, ("get_current_time", "convert_time"), **changes)


def probe_launch(**changes: Any) -> Launch:
    tools = ("echo", "hang", "garbage", "fail", "connect", "read_file", "proxied")
    return mcp_launch("probe", (sys.executable, PROBE_SERVER), tools, **{"read_paths": (str(SERVERS),), **changes})


def fetch_launch(**changes: Any) -> Launch:
    command = (server_program("mcp-server-fetch"), "--ignore-robots-txt", "--allow-private-ips")
    return mcp_launch("fetch", command, ("fetch",), **changes)


def git_launch(repository: Path, **changes: Any) -> Launch:
    """The git server, granted everything in ``repository`` and nothing else."""
    rule = PathRule(path=str(repository), operations=("read", "list", "write", "create", "delete"))
    command = (server_program("mcp-server-git"),)
    return mcp_launch("git", command, ("git_status", "git_log", "git_show"), **{"file_rules": (rule,), **changes})


async def refuse_host_calls(method: str, params: dict[str, Any]) -> Any:
    raise AssertionError(f"this server was not expected to call the host ({method} {params})")


@asynccontextmanager
async def started(launch: Launch, host_call: HostCall = refuse_host_calls) -> AsyncIterator[McpInstance]:
    instance = await McpRuntime().start(launch, host_call)
    try:
        yield instance
    finally:
        await instance.close()


def make_repository(path: Path, message: str) -> Path:
    """A git repository at ``path`` with one commit whose message is ``message``."""
    path.mkdir(parents=True)
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    (path / "README").write_text(f"{message}\n", encoding="utf-8")
    for argv in (["init", "-q", "-b", "main"], ["add", "README"], ["commit", "-q", "-m", message]):
        subprocess.run(["git", *argv], cwd=path, env={"PATH": "/usr/bin:/bin", **env}, check=True)
    return path
