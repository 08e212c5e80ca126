"""stdio transport: frames over a child process's stdin and stdout.

Used where the parent starts the peer itself (the sandbox worker, the editor
bridge): no socket to secure and no token, since only the parent holds the
pipes.  The version/codec handshake still runs, so a child built against
another protocol version is refused with a clear reason instead of producing
garbage.  The parent is the handshake's client, the child its server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Final

from symphony.hookspecs import TransportError

from ..handshake import RefusalCounter, client_handshake, server_handshake
from ._streams import StreamConnection, TransportConfig, load_config

__all__ = ["ProcessConnection", "StdioTransport", "serve_stdio"]


class ProcessConnection(StreamConnection):
    """A connection to a child process; closing it ends the child (politely, then by force)."""

    def __init__(self, process: asyncio.subprocess.Process, codec: str, peer: str, max_frame_size: int) -> None:
        assert process.stdout is not None and process.stdin is not None
        super().__init__(process.stdout, process.stdin, codec=codec, peer=peer, max_frame_size=max_frame_size)
        self.process = process

    async def close(self) -> None:
        """Close stdin (the child sees EOF and should exit), then wait briefly, then kill."""
        await super().close()
        await _reap(self.process)


async def _reap(process: asyncio.subprocess.Process, grace: float = 2.0) -> None:
    try:
        await asyncio.wait_for(process.wait(), grace)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


class StdioTransport:
    """The Transport port over a child's pipes; the ``address`` is the command line to run."""

    scheme: Final = "stdio"

    def __init__(self, config: TransportConfig | Mapping[str, Any] | None = None) -> None:
        self.config = load_config(config)

    async def connect(self, address: str) -> ProcessConnection:
        """Start ``address`` (split like a POSIX shell would, but not run by one) and handshake."""
        return await self.spawn(shlex.split(address))

    async def spawn(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> ProcessConnection:
        """Start the child ``argv`` (no shell involved) and handshake over its pipes."""
        if not argv:
            raise TransportError("stdio transport needs a command to run")
        config = self.config
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=config.buffer_size,
                env=dict(env) if env is not None else None,
            )
        except OSError as error:
            raise TransportError(f"cannot start {argv[0]!r}: {error}") from error
        assert process.stdout is not None and process.stdin is not None
        try:
            codec = await client_handshake(
                process.stdout, process.stdin, codecs=config.codecs, token=None, timeout=config.timeout
            )
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise
        peer = f"{argv[0]} (pid {process.pid})"
        return ProcessConnection(process, codec, peer, config.max_frame_size)

    async def listen(self, address: str) -> Any:
        """Not meaningful: a child does not accept connections, it is one.  See :func:`serve_stdio`."""
        raise TransportError("the stdio transport cannot listen; the child process calls serve_stdio() instead")


async def serve_stdio(config: TransportConfig | Mapping[str, Any] | None = None) -> StreamConnection:
    """In the child: answer the parent's handshake on stdin/stdout and return the connection.

    File descriptor 1 becomes the frame channel, so the original stdout is
    moved aside and fd 1 pointed at stderr: a stray ``print()`` in the child
    then lands in the log instead of corrupting the frame stream.
    """
    settings = load_config(config)
    loop = asyncio.get_running_loop()
    sys.stdout.flush()
    frames_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    reader = asyncio.StreamReader(limit=settings.buffer_size, loop=loop)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=loop), sys.stdin.buffer)
    # A StreamReaderProtocol (with an unused reader) gives the writer drain() and wait_closed() support.
    transport, protocol = await loop.connect_write_pipe(
        lambda: asyncio.StreamReaderProtocol(asyncio.StreamReader(loop=loop), loop=loop), frames_out
    )
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    codec = await server_handshake(
        reader,
        writer,
        peer="parent",
        refusals=RefusalCounter(),
        supported=settings.codecs,
        token=None,
        timeout=settings.timeout,
    )
    if codec is None:
        raise TransportError("the parent's handshake was refused; see the log for the reason")
    return StreamConnection(reader, writer, codec=codec, peer="parent", max_frame_size=settings.max_frame_size)
