"""One editor-core process and the JSON-lines conversation with it (docs/editor.md, "Protocol").

Requests carry ids and their responses are matched by id.  The core answers
strictly in arrival order and writes an edit's ``update`` before its response,
so an ``update`` belongs to the oldest request not yet answered: that is how
the bridge knows which edits the core applied when it dies before answering.
An error with id null (a line the core could not read, e.g. over its 64 MiB
limit) belongs to the oldest unanswered request likewise.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

import msgspec

from symphony.hookspecs import TransportError, describe_exit, dying_with_parent

__all__ = ["CORE_MODULE", "CoreConnection", "CoreError", "CoreGone", "Request", "spawn_core"]

CORE_MODULE: Final = "symphony.builtin_plugins.editor.core"
#: A line longer than this from the core is a broken core (its own limit for requests is 64 MiB).
_LINE_LIMIT: Final = 256 * 2**20
_encode: Final = msgspec.json.Encoder().encode
_decode: Final = msgspec.json.Decoder().decode


class CoreGone(TransportError):
    """The core process died (or was killed) before answering."""


class CoreError(Exception):
    """The core refused a request: its error ``code``, ``message`` and ``data``."""

    def __init__(self, code: int, message: str, data: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data or {}


class Request:
    """A request sent to the core: its ``response``, and the ``update`` it produced, if any was seen."""

    __slots__ = ("id", "response", "tag", "update")

    def __init__(self, request_id: int, response: asyncio.Future[Any], tag: object) -> None:
        self.id = request_id
        self.response = response
        self.tag = tag
        self.update: dict[str, Any] | None = None


def core_argv() -> list[str]:
    """The core's command line, started through the die-with-host launcher (``python -I -S``: a few ms)."""
    core = [sys.executable, "-m", CORE_MODULE]
    if sys.platform != "linux":
        return core
    return dying_with_parent(core)


async def spawn_core(
    on_update: Callable[[dict[str, Any], Request | None], None], argv: Sequence[str] | None = None
) -> CoreConnection:
    """Start a core process; ``on_update`` gets each ``update`` and the request it belongs to."""
    try:
        process = await asyncio.create_subprocess_exec(
            *(argv or core_argv()),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=None,
            limit=_LINE_LIMIT,
        )
    except OSError as error:
        raise TransportError(f"Cannot start the editor core: {error}") from None
    return CoreConnection(process, on_update)


class CoreConnection:
    """Requests to one core process; ``closed`` resolves to what happened to it once its output ends."""

    def __init__(
        self, process: asyncio.subprocess.Process, on_update: Callable[[dict[str, Any], Request | None], None]
    ) -> None:
        self.process = process
        self._on_update = on_update
        self._next_id = 0
        self._outstanding: dict[int, Request] = {}
        #: When the core last said anything (monotonic): a busy core is not a hung one.
        self.last_heard = time.monotonic()
        self.closed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @property
    def pid(self) -> int:
        return self.process.pid

    def request(self, method: str, params: dict[str, Any], tag: object = None) -> Request:
        """Send ``method`` now (in call order); await ``.response`` for its result.

        The response raises CoreError when the core refuses, CoreGone when it dies first.
        """
        loop = asyncio.get_running_loop()
        response: asyncio.Future[Any] = loop.create_future()
        self._next_id += 1
        request = Request(self._next_id, response, tag)
        if self.closed.done():
            response.set_exception(CoreGone(f"The editor core {self.closed.result()}."))
            return request
        self._outstanding[request.id] = request
        stdin = self.process.stdin
        if stdin is not None and not stdin.is_closing():  # else it fails with the others once the core is gone
            stdin.write(_encode({"id": request.id, "method": method, "params": params}) + b"\n")
        return request

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """Send ``method`` and wait for its result."""
        return await self.request(method, params).response

    async def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            while line := await stdout.readline():
                self.last_heard = time.monotonic()
                self._dispatch(line)
        except (ValueError, OSError) as error:  # a line over the limit, or the pipe broke
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            reason = f"sent an unreadable line ({error}) and was killed"
        else:
            reason = ""
        code = await self.process.wait()
        self._gone(reason or f"(pid {self.process.pid}) {_describe_exit(code)}")

    def _dispatch(self, line: bytes) -> None:
        try:
            message = _decode(line)
        except msgspec.DecodeError:
            sys.stderr.write(f"editor core wrote a line that is not JSON: {line[:200]!r}\n")
            return
        if not isinstance(message, dict):
            return
        if "id" not in message:
            if message.get("method") == "update":
                owner = next(iter(self._outstanding.values()), None)
                if owner is not None:
                    owner.update = message.get("params")
                self._on_update(message.get("params") or {}, owner)
            return
        request_id = message["id"]
        if request_id is None and self._outstanding:  # a line it could not read (too long): the oldest sent
            request_id = next(iter(self._outstanding))
        request = self._outstanding.pop(request_id, None) if isinstance(request_id, int) else None
        if request is None:
            sys.stderr.write(f"editor core answered no pending request: {line[:200]!r}\n")
            return
        if request.response.done():
            return
        error = message.get("error")
        if error is not None:
            request.response.set_exception(
                CoreError(int(error.get("code", 0)), str(error.get("message", "")), error.get("data"))
            )
        else:
            request.response.set_result(message.get("result"))

    def _gone(self, reason: str) -> None:
        if not self.closed.done():
            self.closed.set_result(reason)
        outstanding, self._outstanding = self._outstanding, {}
        for request in outstanding.values():
            if not request.response.done():
                request.response.set_exception(CoreGone(f"The editor core {reason}."))

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()

    async def close(self, timeout: float = 2.0) -> None:
        """Ask the core to exit (``shutdown``, then end of input); kill it if it does not within ``timeout``."""
        if not self.closed.done():
            shutdown = self.request("shutdown", {})
            stdin = self.process.stdin
            if stdin is not None and not stdin.is_closing():
                stdin.close()
            with contextlib.suppress(CoreGone, CoreError, TimeoutError):
                await asyncio.wait_for(asyncio.shield(shutdown.response), timeout)
            try:
                await asyncio.wait_for(asyncio.shield(self.closed), timeout)
            except TimeoutError:
                self.kill()
        await self._reader


def _describe_exit(code: int | None) -> str:
    return "closed its output" if code is None else describe_exit(code)
