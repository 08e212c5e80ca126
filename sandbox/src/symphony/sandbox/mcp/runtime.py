"""The ``mcp`` runtime: an MCP server over stdio, confined like a subprocess worker, as an extension Instance.

The server runs under the launcher (:mod:`.launcher`): a private network whose
only reachable address is this runtime's mediating proxy, Landlock to the
granted paths and what the program needs to start, rlimits and seccomp.  The
SDK's ClientSession speaks MCP to it.  Each tool the manifest contributes is an
operation; ``mcp/...`` operations list the tools, resources and prompts and
read them.  A crash, protocol garbage or a call past the timeout costs that
call an ExtensionCrashedError or ExtensionTimeoutError; the manager restarts
the server on the next call.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import struct
import sys
import tempfile
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, Final, TypeVar

import msgspec
from mcp import ClientSession
from mcp.shared.exceptions import MCPError

from symphony.hookspecs import ExtensionError
from symphony.hookspecs.runtimes import (
    ExtensionCrashedError,
    ExtensionTimeoutError,
    HostCall,
    InstanceStats,
    Launch,
    RuntimeKind,
)

from ..subprocess._launch import runtime_roots
from ..subprocess._procstat import read_usage
from ..subprocess.runtime import policy_for
from ._paths import server_env, server_reads
from ._process import ServerProcess
from ._proxy import MediatingProxy
from ._results import RESERVED, reserved_call, tool_result
from ._spec import ServerSpec

__all__ = ["McpInstance", "McpRuntime"]

LAUNCHER: Final = str(Path(__file__).with_name("launcher.py"))
_LOG_TAIL: Final = 2000
#: The longest a server may take to start and list its tools (an interpreter and its imports, on a busy machine).
START_SECONDS: Final = 60.0
_T = TypeVar("_T")


def server_argv(launch: Launch) -> list[str]:
    """The server's argv: the manifest's command, or the extension's interpreter running its ``entry``."""
    if launch.command:
        return list(launch.command)
    module, _, attribute = launch.entry.partition(":")
    paths = [*launch.environment_paths, *launch.sys_path]
    code = f"import sys; sys.path[:0] = {paths!r}; from {module} import {attribute.split('.')[0]} as main; main()"
    return [launch.python or sys.executable, "-c", code]


class McpInstance:
    """One running server and its session; ``invoke`` is an MCP request, raced against the server's end."""

    def __init__(self, launch: Launch, server: ServerProcess, proxy: MediatingProxy, workdir: str) -> None:
        self.launch = launch
        self.server = server
        self.proxy = proxy
        self.workdir = workdir
        self.session: ClientSession | None = None
        self.tools: dict[str, Any] = {}
        self._stop = asyncio.Event()
        self._owner: asyncio.Task[None] | None = None
        self._ended = asyncio.ensure_future(server.ended.wait())  # one waiter for every call's race

    async def open(self) -> None:
        """Initialise the session and list the tools; ExtensionError (with the server's log) if it cannot."""
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        ready.add_done_callback(lambda done: done.cancelled() or done.exception())  # reported by _race instead
        self._owner = asyncio.ensure_future(self._own(ready))
        await self._race(asyncio.shield(ready), "starting", START_SECONDS)
        listed = await self._race(self._session().list_tools(), "listing its tools", START_SECONDS)
        self.tools = {tool.name: tool for tool in listed.tools}
        missing = sorted(set(self.launch.operations) - set(self.tools))
        if missing:
            raise ExtensionError(
                f"MCP server of extension {self.launch.name!r} offers no tool {', '.join(map(repr, missing))}, which"
                f" its manifest contributes (it offers: {', '.join(sorted(self.tools)) or 'none'}). The server"
                " changed: review the manifest's [[contributes.operators]] against 'mcp/tools/list'."
            )

    async def _own(self, ready: asyncio.Future[None]) -> None:
        """Hold the session's context in one task (its task group must enter and exit in the same task)."""
        try:
            async with ClientSession(*self.server.streams()) as session:
                await session.initialize()
                self.session = session
                ready.set_result(None)
                await self._stop.wait()
        except BaseException as error:
            if not ready.done():
                ready.set_exception(error if isinstance(error, Exception) else ExtensionError(str(error)))
        finally:
            self.session = None

    def _session(self) -> ClientSession:
        if self.session is None:
            raise ExtensionCrashedError(
                f"MCP server of extension {self.launch.name!r} has no session: {self.server.reason}"
            )
        return self.session

    async def _race(self, call: Awaitable[_T], doing: str, seconds: float | None = None) -> _T:
        """``call``'s answer, unless the server ends first (crash, garbage) or the timeout passes."""
        seconds = self.launch.timeout if seconds is None else seconds
        task = asyncio.ensure_future(call)
        done, _ = await asyncio.wait({task, self._ended}, timeout=seconds, return_when="FIRST_COMPLETED")
        if task in done and not self.server.ended.is_set():
            try:
                return task.result()
            except MCPError as error:
                raise ExtensionError(f"MCP server of extension {self.launch.name!r}: {error}") from None
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        if self.server.ended.is_set():
            raise ExtensionCrashedError(
                f"MCP server of extension {self.launch.name!r} failed while {doing}: {self.server.reason}."
                f" {self._log_tail()}".rstrip()
            )
        await self.server.kill()
        raise ExtensionTimeoutError(
            f"MCP server of extension {self.launch.name!r} did not answer within {seconds:g} s while"
            f" {doing}, and was stopped; raise [resources] timeout in its manifest if it needs longer."
        )

    def _log_tail(self) -> str:
        try:
            text = Path(self.workdir, "server.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return f"Its last output: {text[-_LOG_TAIL:].strip()}" if text.strip() else ""

    async def invoke(self, operation: str, input: dict[str, Any]) -> dict[str, Any]:
        if operation in RESERVED:
            return await self._race(reserved_call(self._session(), operation, input), f"answering {operation}")
        if operation not in self.launch.operations:
            raise ExtensionError(
                f"Extension {self.launch.name!r} contributes no MCP tool {operation!r} (it contributes:"
                f" {', '.join(self.launch.operations) or 'none'}; reserved: {', '.join(sorted(RESERVED))})."
            )
        result = await self._race(self._session().call_tool(operation, input), f"calling tool {operation!r}")
        return tool_result(self.launch.name, operation, result)

    async def close(self) -> None:
        self._stop.set()
        await self.server.kill()
        self._ended.cancel()
        if self._owner is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._owner, 5)
        await self.proxy.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def stats(self) -> InstanceStats:
        usage = read_usage(self.server.process.pid)
        return InstanceStats(pid=self.server.process.pid, memory_bytes=usage.rss_bytes, cpu_seconds=usage.cpu_seconds)


async def _receive_listener(handoff: socket.socket, server: ServerProcess) -> socket.socket:
    """The proxy's listening socket, sent by the launcher (checked: by the server's own process)."""
    loop = asyncio.get_running_loop()
    accept = asyncio.ensure_future(loop.sock_accept(handoff))
    ended = asyncio.ensure_future(server.ended.wait())
    await asyncio.wait({accept, ended}, return_when="FIRST_COMPLETED")
    ended.cancel()
    if not accept.done():
        accept.cancel()
        raise ExtensionCrashedError(f"the launcher ended before handing over its network: {server.reason}")
    connection, _ = accept.result()
    with connection:
        pid = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
        if pid != server.process.pid:
            raise ExtensionCrashedError(f"a process other than the server ({pid}) connected to its hand-over socket")
        connection.setblocking(True)
        connection.settimeout(10)
        _, fds, _, _ = await asyncio.to_thread(socket.recv_fds, connection, 16, 1)
    if len(fds) != 1:
        raise ExtensionCrashedError("the launcher handed over no listening socket")
    return socket.socket(fileno=fds[0])


class McpRuntime:
    kind: RuntimeKind = "mcp"

    async def start(self, launch: Launch, host_call: HostCall) -> McpInstance:
        workdir = tempfile.mkdtemp(prefix="symphony-mcp-")
        argv = server_argv(launch)
        # The launcher enters the private network namespace itself (it must listen there first), so confine()
        # is told "network allowed": no second namespace, and inet sockets, which reach only that namespace.
        # Processes are allowed: the launcher execs the server, and servers run programs (git); all inherit this.
        policy = msgspec.structs.replace(
            policy_for(launch), allow_network=True, allow_processes=True, max_open_files=256
        )
        handoff = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        handoff.bind(os.path.join(workdir, "proxy.sock"))
        handoff.listen(1)
        handoff.setblocking(False)
        env = server_env(launch, argv, workdir)
        spec = ServerSpec(
            command=tuple(argv),
            env=env,
            policy=policy,
            read_paths=server_reads(launch, argv),
            write_paths=(workdir, "/dev/null", *launch.write_paths),
            handoff=handoff.getsockname(),
        )
        launcher = [sys.executable, "-I", "-S", LAUNCHER, msgspec.json.encode(spec).decode(), *runtime_roots()]
        log = os.open(os.path.join(workdir, "server.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            server = await ServerProcess.spawn(launcher, env=env, cwd=workdir, log=log)
        finally:
            os.close(log)
        proxy = MediatingProxy(launch.name, host_call)
        instance = McpInstance(launch, server, proxy, workdir)
        try:
            listener = await instance._race(_receive_listener(handoff, server), "starting", START_SECONDS)
            await proxy.start(listener)
            await instance.open()
        except BaseException:
            await instance.close()
            raise
        finally:
            handoff.close()
        return instance
