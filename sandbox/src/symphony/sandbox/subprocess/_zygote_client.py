"""The host's side of the zygote: start it once, have it fork workers, learn when they end.

One zygote per host process, started when the first worker asks for one, by
a thread of the host's own that lives as long as the process: the zygote's
parent-death signal watches the thread that started it.  The same thread
reads the zygote's answers and exit notices; a caller on any event loop
awaits them.  If the zygote dies, its workers die with it and the next
start makes a new one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import os
import signal
import socket
import subprocess
import threading
from typing import Any, Final

import msgspec

from ._launch import worker_env, zygote_argv

__all__ = ["Zygote", "ZygoteChild", "zygote"]

_MAX_MESSAGE: Final = 4096


class ZygoteChild:
    """A worker the zygote forked, as the parent side sees a process: ``pid``, ``returncode``, ``kill()``, ``wait()``.

    The zygote is its parent and reaps it; the host signals it through a pidfd,
    which can never reach another process that reused the pid.
    """

    def __init__(self, pid: int, pidfd: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._pidfd: int | None = pidfd
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[int]]] = []

    def kill(self) -> None:
        """SIGKILL; ProcessLookupError once it has ended."""
        with self._lock:
            if self._pidfd is None:
                raise ProcessLookupError(f"worker {self.pid} has ended")
            signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)

    async def wait(self) -> int:
        """Its exit status once it has ended (``-N`` for signal N), as ``asyncio.subprocess.Process.wait``."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self.returncode is not None:
                return self.returncode
            waiter: asyncio.Future[int] = loop.create_future()
            self._waiters.append((loop, waiter))
        return await waiter

    def ended(self, returncode: int) -> None:
        """The zygote reaped it (called on the zygote's thread)."""
        with self._lock:
            self.returncode = returncode
            if self._pidfd is not None:
                os.close(self._pidfd)
                self._pidfd = None
            waiters, self._waiters = self._waiters, []
        for loop, waiter in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits there any more
                loop.call_soon_threadsafe(_settle, waiter, returncode)


def _settle(waiter: asyncio.Future[int], returncode: int) -> None:
    if not waiter.done():
        waiter.set_result(returncode)


def _kill_unwanted(future: concurrent.futures.Future[ZygoteChild]) -> None:
    """A fork whose caller gave up (cancelled, timed out) is killed rather than left waiting on its pipes."""
    if not future.cancelled() and future.exception() is None:
        with contextlib.suppress(ProcessLookupError):
            future.result().kill()


class Zygote:
    """The host's zygote: :meth:`fork` a worker on two pipe ends; see the module docstring."""

    def __init__(self, python: str) -> None:
        self.python = python
        self.owner = os.getpid()
        self.started = concurrent.futures.Future[None]()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, concurrent.futures.Future[ZygoteChild]] = {}
        self._children: dict[int, ZygoteChild] = {}
        self._control: socket.socket | None = None
        self._ended = False
        threading.Thread(target=self._run, name="symphony-zygote", daemon=True).start()

    @property
    def usable(self) -> bool:
        """Running, or starting, in this process (a forked host needs a zygote of its own)."""
        return not self._ended and self.owner == os.getpid()

    async def fork(self, stdin: int, stdout: int) -> ZygoteChild:
        """A new worker process whose stdin and stdout are ``stdin`` and ``stdout`` (the caller closes its copies).

        OSError if the zygote could not start, or fork, or has ended.
        """
        await asyncio.shield(asyncio.wrap_future(self.started))
        future = concurrent.futures.Future[ZygoteChild]()
        with self._lock:
            if self._ended or self._control is None:
                raise ConnectionError("the zygote has ended")
            request = next(self._ids)
            self._pending[request] = future
        try:
            socket.send_fds(self._control, [msgspec.json.encode({"fork": request})], [stdin, stdout])
        except OSError:
            with self._lock:
                self._pending.pop(request, None)
                self._ended = True  # its thread is about to notice; the next start makes a new one
            raise
        try:
            return await asyncio.shield(asyncio.wrap_future(future))
        except asyncio.CancelledError:
            future.add_done_callback(_kill_unwanted)
            raise

    # -- the zygote's thread ---------------------------------------------------------------

    def _run(self) -> None:
        control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            process = subprocess.Popen(
                zygote_argv(self.python, os.getpid(), theirs.fileno()),
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=worker_env(None),
                cwd="/",
                start_new_session=True,
            )
        except OSError as error:
            control.close()
            self._end(OSError(error.errno, f"cannot start the zygote: {error.strerror}"))
            return
        finally:
            theirs.close()
        self._control = control
        with control:
            while self._read(control):
                pass
        returncode = process.wait()
        self._end(ConnectionError(f"the zygote (pid {process.pid}) ended with status {returncode}"))

    def _read(self, control: socket.socket) -> bool:
        """Handle one message from the zygote; False once it is gone."""
        try:
            data, fds, _, _ = socket.recv_fds(control, _MAX_MESSAGE, 1, socket.MSG_CMSG_CLOEXEC)
        except OSError:
            return False
        if not data:
            return False
        message: dict[str, Any] = msgspec.json.decode(data)
        if "forked" in message:
            child = ZygoteChild(message["pid"], fds[0])
            with self._lock:
                self._children[child.pid] = child
                future = self._pending.pop(message["forked"])
            future.set_result(child)
        elif "exited" in message:
            with self._lock:
                ended = self._children.pop(message["exited"])
            ended.ended(message["returncode"])
        elif "failed" in message:
            with self._lock:
                future = self._pending.pop(message["failed"])
            future.set_exception(OSError(f"the zygote could not fork a worker: {message['error']}"))
        elif "ready" in message:
            self.started.set_result(None)
        return True

    def _end(self, error: BaseException) -> None:
        """The zygote is gone: whoever waits learns it; its workers died with it (their parent-death signal)."""
        with self._lock:
            self._ended = True
            pending, self._pending = self._pending, {}
            children, self._children = self._children, {}
        if not self.started.done():
            self.started.set_exception(error)
        for future in pending.values():
            future.set_exception(error)
        for child in children.values():
            child.ended(-signal.SIGKILL)


_current: Zygote | None = None
_current_lock: Final = threading.Lock()


def zygote(python: str) -> Zygote:
    """This process's zygote for ``python`` (this interpreter), started if there is none or it has ended."""
    global _current
    with _current_lock:
        if _current is None or not _current.usable:
            _current = Zygote(python)
        return _current
