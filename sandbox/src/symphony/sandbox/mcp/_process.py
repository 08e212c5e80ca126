"""The server's process and its stdio as the SDK's message streams: one JSON-RPC message per line.

The SDK's ``stdio_client`` would start the process itself; here the runtime
starts the launcher (which confines itself, then becomes the server), keeps its
pid to kill it (its whole process group: a server's own children too), and
notices the first line that is not JSON-RPC: protocol garbage ends the
session, as a crash does, instead of leaving a request waiting for an answer
that will not come.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import Final

import anyio
import mcp_types as types
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.shared.message import SessionMessage

__all__ = ["ServerProcess"]

#: The longest line (one message) read from a server: a bigger one is garbage.
_MAX_LINE: Final = 16 * 1024 * 1024


class ServerProcess:
    """A started server: ``read``/``write`` for a ClientSession, ``ended`` set once it is no longer usable."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.ended = asyncio.Event()
        self.reason = ""
        self._incoming, self.read = anyio.create_memory_object_stream[SessionMessage | Exception](16)
        self.write, self._outgoing = anyio.create_memory_object_stream[SessionMessage](16)
        self._tasks = [asyncio.ensure_future(self._read_lines()), asyncio.ensure_future(self._write_lines())]

    @classmethod
    async def spawn(cls, argv: list[str], *, env: dict[str, str], cwd: str, log: int) -> ServerProcess:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            env=env,
            cwd=cwd,
            start_new_session=True,
            limit=_MAX_LINE,
        )
        return cls(process)

    def _end(self, reason: str) -> None:
        if not self.ended.is_set():
            self.reason = reason
            self.ended.set()

    async def _read_lines(self) -> None:
        """Pass each message on; the first non-message, or the end of the output, ends the server for good.

        ``ended`` is set before the stream closes, so a request that sees the closed
        stream can already tell why it closed.
        """
        stdout = self.process.stdout
        assert stdout is not None
        async with self._incoming:
            try:
                while line := await stdout.readline():
                    if not line.strip():
                        continue
                    try:
                        message = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
                    except ValueError:
                        self._end(f"the server wrote a line that is not a JSON-RPC message: {line[:200]!r}")
                        return
                    await self._incoming.send(SessionMessage(message))
            except ValueError:
                self._end(f"the server wrote a line longer than {_MAX_LINE} bytes")
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                pass
            status = self.process.returncode
            self._end("the server exited" if status is None else f"the server exited (status {status})")

    async def _write_lines(self) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            async with self._outgoing:
                async for message in self._outgoing:
                    stdin.write(message.message.model_dump_json(by_alias=True, exclude_unset=True).encode() + b"\n")
                    await stdin.drain()
        except (ConnectionError, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._end("the server stopped reading its input")

    def streams(
        self,
    ) -> tuple[MemoryObjectReceiveStream[SessionMessage | Exception], MemoryObjectSendStream[SessionMessage]]:
        return self.read, self.write

    async def kill(self) -> None:
        """Kill the server and everything it started; idempotent."""
        self._end("the server was stopped")
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        await self.process.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
