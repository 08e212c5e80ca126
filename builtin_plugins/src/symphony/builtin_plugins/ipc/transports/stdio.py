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
from ._pipes import PipeReadTransport
from ._protocol import FrameProtocol, WriteSide
from ._streams import StreamConnection, TransportConfig, load_config

__all__ = ["ProcessConnection", "StdioTransport", "serve_stdio"]


class ProcessConnection(StreamConnection):
    """A connection to a child process; closing it ends the child (politely, then by force)."""

    def __init__(
        self, process: asyncio.subprocess.Process, frames: FrameProtocol, codec: str, peer: str, max_frame_size: int
    ) -> None:
        super().__init__(frames, codec=codec, peer=peer, max_frame_size=max_frame_size)
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


async def _pipe_frames(reading: Any, writing: Any, config: TransportConfig) -> FrameProtocol:
    """A FrameProtocol reading frames from the ``reading`` pipe and writing them to ``writing``."""
    loop = asyncio.get_running_loop()
    frames = FrameProtocol(
        max_frame_size=config.max_frame_size, buffer_size=config.buffer_size, output_limit=config.output_limit
    )
    PipeReadTransport(loop, reading, frames)
    out, _ = await loop.connect_write_pipe(lambda: WriteSide(frames), writing)
    frames.use_writer(out)
    return frames


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
        child_stdin, to_child = os.pipe()
        from_child, child_stdout = os.pipe()
        try:
            # A session of its own: signals to the host's process group (``kill(0, ...)`` from
            # anything in it, the terminal's Ctrl-C) do not reach the child, nor the child's the
            # host's; the host ends its children itself when it stops (see ProcessConnection.close).
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=child_stdin,
                stdout=child_stdout,
                env=dict(env) if env is not None else None,
                start_new_session=True,
            )
        except OSError as error:
            for fd in (to_child, from_child):
                os.close(fd)
            raise TransportError(f"cannot start {argv[0]!r}: {error}") from error
        finally:
            for fd in (child_stdin, child_stdout):
                os.close(fd)
        frames: FrameProtocol | None = None
        try:
            frames = await _pipe_frames(
                os.fdopen(from_child, "rb", buffering=0), os.fdopen(to_child, "wb", buffering=0), config
            )
            codec = await client_handshake(frames, codecs=config.codecs, token=None, timeout=config.timeout)
        except BaseException:
            if frames is not None:
                frames.close_now()
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise
        peer = f"{argv[0]} (pid {process.pid})"
        return ProcessConnection(process, frames, codec, peer, config.max_frame_size)

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
    sys.stdout.flush()
    frames_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    frames = await _pipe_frames(sys.stdin.buffer, frames_out, settings)
    codec = await server_handshake(
        frames,
        peer="parent",
        refusals=RefusalCounter(),
        supported=settings.codecs,
        token=None,
        timeout=settings.timeout,
    )
    if codec is None:
        raise TransportError("the parent's handshake was refused; see the log for the reason")
    return StreamConnection(frames, codec=codec, peer="parent", max_frame_size=settings.max_frame_size)
