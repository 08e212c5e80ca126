"""The parent's end of a worker: its process, and frames over its stdin and stdout pipes.

A worker is started one of two ways, with the same pipes and the same code
running in it: forked by the zygote (the default for this interpreter), or
as a fresh ``python -I -S bootstrap.py`` (another interpreter, or when asked).
The frames ride the SDK's :class:`~symphony.hookspecs.wire.frames.FrameProtocol`
(reads straight into the frame buffer, one write per frame).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Sequence
from typing import Final, Protocol

from symphony.hookspecs.wire.frames import FrameProtocol, WriteSide
from symphony.hookspecs.wire.framing import DEFAULT_MAX_FRAME_SIZE
from symphony.hookspecs.wire.pipes import PipeReadTransport

from ._launch import worker_argv, worker_env
from ._protocol import Message, decode, encode
from ._zygote_client import zygote

__all__ = ["WorkerLink", "WorkerProcess", "open_link"]

#: How long a worker whose input was closed may take to exit before it is killed.
_EXIT_GRACE: Final = 2.0


class WorkerProcess(Protocol):
    """What the parent needs of a worker's process: an asyncio subprocess or a :class:`.ZygoteChild`."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    def kill(self) -> None: ...

    async def wait(self) -> int: ...


class WorkerLink:
    """Messages to and from one worker process; closing it ends the process (politely, then by force)."""

    def __init__(self, process: WorkerProcess, frames: FrameProtocol) -> None:
        self.process = process
        self._frames = frames

    async def send(self, message: object) -> None:
        frame = encode(message)
        if not self._frames.offer(frame):  # the pipe is full: wait for room (offer wrote nothing)
            await self._frames.send(frame)

    async def exchange(self, message: object) -> Message:
        """Send ``message`` and return the worker's next message: one coroutine for the hot path's round trip.

        TransportError once the worker's output ended; SerializationError (an absurd
        frame length) or msgspec.DecodeError if what it wrote is not a message.
        """
        frame = encode(message)
        frames = self._frames
        if not frames.offer(frame):
            await frames.send(frame)
        # FrameProtocol.receive inlined: the answer's future is awaited from this frame, no coroutine between.
        while (answer := frames.next_frame()) is None:
            await frames.readable()
        return decode(answer)

    async def receive_frame(self) -> bytes:
        """The next frame (TransportError once the worker's output ended; FrameTooLargeError for an absurd length)."""
        return await self._frames.receive()

    async def close(self) -> None:
        """Close the pipes (the worker sees EOF and exits), wait briefly, then kill."""
        await self._frames.close()
        try:
            await asyncio.wait_for(self.process.wait(), _EXIT_GRACE)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()


async def _start(python: str, stdin: int, stdout: int, *, fork: bool) -> WorkerProcess:
    if fork:
        return await zygote(python).fork(stdin, stdout)
    # A session of its own: signals to the host's process group (``kill(0, ...)``, the terminal's
    # Ctrl-C) do not reach the worker, nor the worker's the host's.
    return await asyncio.create_subprocess_exec(
        *worker_argv(python, os.getpid()), stdin=stdin, stdout=stdout, env=worker_env(None), start_new_session=True
    )


async def open_link(python: str, *, fork: bool) -> WorkerLink:
    """Start a worker (forked by the zygote if ``fork``, else a fresh interpreter) and link to its pipes.

    OSError if it cannot be started.  The worker then waits for its start frame.
    """
    child_stdin, to_child = os.pipe()
    from_child, child_stdout = os.pipe()
    try:
        process = await _start(python, child_stdin, child_stdout, fork=fork)
    except BaseException:
        _close((to_child, from_child))
        raise
    finally:
        _close((child_stdin, child_stdout))
    loop = asyncio.get_running_loop()
    frames = FrameProtocol(max_frame_size=DEFAULT_MAX_FRAME_SIZE, handshake_limit=None)
    try:
        PipeReadTransport(loop, os.fdopen(from_child, "rb", buffering=0), frames)
        out, _ = await loop.connect_write_pipe(lambda: WriteSide(frames), os.fdopen(to_child, "wb", buffering=0))
        frames.use_writer(out)
    except BaseException:
        frames.close_now()
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        raise
    return WorkerLink(process, frames)


def _close(fds: Sequence[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
