"""Frames over a child process's stdin and stdout: the parent's :func:`spawn_stdio`, the child's :func:`serve_stdio`.

Used where the parent starts the peer itself (the sandbox's worker, the
builtin stdio transport, the bus supervisor's endpoints): no socket to secure
and no token, since only the parent holds the pipes.  The version/codec
handshake still runs, so a child built against another protocol version is
refused with a clear reason instead of producing garbage.  The parent is the
handshake's client, the child its server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from .._exceptions import TransportError
from .connection import StreamConnection
from .frames import DEFAULT_OUTPUT_LIMIT, FrameProtocol, WriteSide
from .framing import DEFAULT_MAX_FRAME_SIZE
from .handshake import DEFAULT_CODECS, RefusalCounter, client_handshake, server_handshake
from .pipes import PipeReadTransport

__all__ = ["ProcessConnection", "StdioOptions", "serve_stdio", "spawn_stdio"]


class StdioOptions(msgspec.Struct, frozen=True, kw_only=True):
    """The stream settings both ends of a stdio link use (the builtin TransportConfig's names and defaults)."""

    buffer_size: int = 64 * 1024
    timeout: float = 10.0
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE
    codecs: tuple[str, ...] = DEFAULT_CODECS
    output_limit: int = DEFAULT_OUTPUT_LIMIT


#: The defaults, for callers that configure nothing.
DEFAULTS = StdioOptions()


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


async def _pipe_frames(reading: Any, writing: Any, options: StdioOptions) -> FrameProtocol:
    """A FrameProtocol reading frames from the ``reading`` pipe and writing them to ``writing``."""
    loop = asyncio.get_running_loop()
    frames = FrameProtocol(
        max_frame_size=options.max_frame_size, buffer_size=options.buffer_size, output_limit=options.output_limit
    )
    PipeReadTransport(loop, reading, frames)
    out, _ = await loop.connect_write_pipe(lambda: WriteSide(frames), writing)
    frames.use_writer(out)
    return frames


async def spawn_stdio(
    argv: Sequence[str], env: Mapping[str, str] | None = None, options: StdioOptions = DEFAULTS
) -> ProcessConnection:
    """Start the child ``argv`` (no shell involved) and handshake over its pipes."""
    if not argv:
        raise TransportError("stdio transport needs a command to run")
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
            os.fdopen(from_child, "rb", buffering=0), os.fdopen(to_child, "wb", buffering=0), options
        )
        codec = await client_handshake(frames, codecs=options.codecs, token=None, timeout=options.timeout)
    except BaseException:
        if frames is not None:
            frames.close_now()
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise
    peer = f"{argv[0]} (pid {process.pid})"
    return ProcessConnection(process, frames, codec, peer, options.max_frame_size)


async def serve_stdio(options: StdioOptions = DEFAULTS) -> StreamConnection:
    """In the child: answer the parent's handshake on stdin/stdout and return the connection.

    File descriptor 1 becomes the frame channel, so the original stdout is
    moved aside and fd 1 pointed at stderr: a stray ``print()`` in the child
    then lands in the log instead of corrupting the frame stream.
    """
    sys.stdout.flush()
    frames_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    frames = await _pipe_frames(sys.stdin.buffer, frames_out, options)
    codec = await server_handshake(
        frames,
        peer="parent",
        refusals=RefusalCounter(),
        supported=options.codecs,
        token=None,
        timeout=options.timeout,
    )
    if codec is None:
        raise TransportError("the parent's handshake was refused; see the log for the reason")
    return StreamConnection(frames, codec=codec, peer="parent", max_frame_size=options.max_frame_size)
