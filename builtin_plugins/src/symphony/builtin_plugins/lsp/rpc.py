"""JSON-RPC 2.0 over LSP's base protocol (``Content-Length`` framed messages) on a pair of asyncio streams.

Small enough to own (about what a client library's transport is) and it lets the
limits be ours: a header line is at most the reader's limit, a message at most
``max_message`` bytes, so a hostile or broken server cannot grow memory without
bound; it is disconnected instead, as is one that stops reading while more than
``max_message`` bytes wait to be written to it.  Requests from the server
(``workspace/configuration`` and the like) are answered by ``on_request``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

import msgspec

from symphony.hookspecs import LanguageServerError

__all__ = ["Connection", "RemoteError"]

log = logging.getLogger("symphony.lsp.rpc")

#: Headers a message may carry before its body (LSP defines two).
_MAX_HEADERS: Final = 16

Handler = Callable[[str, Any], Awaitable[Any]]
Notified = Callable[[str, Any], None]


class RemoteError(LanguageServerError):
    """The server answered a request with a JSON-RPC error; ``code`` is its number."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class _Error(msgspec.Struct):
    code: int
    message: str
    data: Any = None


class _Message(msgspec.Struct, omit_defaults=True):
    """Any JSON-RPC message; which fields are set says which kind it is."""

    jsonrpc: str  # always "2.0"; no default, so omit_defaults still writes it
    id: int | str | msgspec.UnsetType | None = msgspec.UNSET
    method: str | msgspec.UnsetType = msgspec.UNSET
    params: Any = msgspec.UNSET
    result: Any = msgspec.UNSET
    error: _Error | msgspec.UnsetType = msgspec.UNSET


_decoder: Final = msgspec.json.Decoder(_Message)
_encoder: Final = msgspec.json.Encoder()


class Connection:
    """One client end of a JSON-RPC connection; ``closed`` is set with the reason once it is over.

    :param name: who is at the other end, for messages ("the python language server").
    :param max_message: the largest message body accepted, in bytes.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        name: str,
        max_message: int,
        on_notification: Notified,
        on_request: Handler,
    ) -> None:
        self.name = name
        self._reader = reader
        self._writer = writer
        self._max_message = max_message
        self._on_notification = on_notification
        self._on_request = on_request
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._reading = asyncio.create_task(self._read_loop(), name=f"lsp-read:{name}")

    def _send(self, message: _Message) -> None:
        if self.closed.done():
            raise LanguageServerError(f"{self.name} is not connected ({self.closed.result()}).")
        waiting = self._writer.transport.get_write_buffer_size()
        if waiting > self._max_message:  # it stopped reading: do not queue more for it without bound
            self._reading.cancel()
            self._close(f"it stopped reading its input ({waiting} bytes waiting for it)")
            raise LanguageServerError(f"{self.name} is not connected ({self.closed.result()}).")
        body = _encoder.encode(message)
        self._writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method: str, params: Any) -> None:
        """Send a notification; it is written in call order, before any later request."""
        self._send(_Message("2.0", method=method, params=params))

    async def request(self, method: str, params: Any, *, timeout: float) -> Any:
        """Send a request and wait for its result; a JSON-RPC error is a RemoteError, silence a LanguageServerError."""
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            self._send(_Message("2.0", id=request_id, method=method, params=params))
            await self._writer.drain()
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            with contextlib.suppress(LanguageServerError):
                self.notify("$/cancelRequest", {"id": request_id})
            raise LanguageServerError(
                f"{self.name} did not answer {method} within {timeout:g} s; raise"
                " components.lsp.options.request_timeout if it is just slow."
            ) from None
        except (ConnectionError, RuntimeError) as error:
            raise LanguageServerError(f"{self.name} went away during {method}: {error}") from None
        finally:
            self._pending.pop(request_id, None)

    async def _read_message(self) -> bytes:
        length = None
        for _ in range(_MAX_HEADERS):
            line = await self._reader.readline()
            if not line:
                raise EOFError("it closed its output")
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode("ascii", "replace").partition(":")
            if name.strip().lower() == "content-length":
                try:
                    length = int(value.strip())
                except ValueError:
                    raise ValueError(f"bad Content-Length header {value.strip()!r}") from None
        else:
            raise ValueError(f"more than {_MAX_HEADERS} header lines in one message")
        if length is None or length < 0:
            raise ValueError("a message without a valid Content-Length")
        if length > self._max_message:
            raise ValueError(
                f"a message of {length} bytes, over the limit of {self._max_message}"
                " (components.lsp.options.max_message_bytes)"
            )
        return await self._reader.readexactly(length)

    async def _read_loop(self) -> None:
        reason = "it stopped"
        try:
            while True:
                self._dispatch(_decoder.decode(await self._read_message()))
        except (EOFError, asyncio.IncompleteReadError, ConnectionError):
            reason = "it closed its output"
        except (ValueError, msgspec.DecodeError, asyncio.LimitOverrunError) as error:
            reason = f"it broke the protocol: {error}"
            log.warning("%s broke the protocol: %s", self.name, error)
        except asyncio.CancelledError:
            reason = "the connection was closed"
        finally:
            self._close(reason)

    def _dispatch(self, message: _Message) -> None:
        if isinstance(message.method, str):
            if message.id is msgspec.UNSET:
                params = None if message.params is msgspec.UNSET else message.params
                self._on_notification(message.method, params)
            else:
                task = asyncio.create_task(self._answer(message))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            return
        future = self._pending.get(message.id) if isinstance(message.id, int) else None
        if future is None or future.done():
            return  # an answer to a request we gave up on
        if isinstance(message.error, _Error):
            future.set_exception(
                RemoteError(
                    f"{self.name} failed: {message.error.message} (code {message.error.code})", message.error.code
                )
            )
        else:
            future.set_result(None if message.result is msgspec.UNSET else message.result)

    async def _answer(self, message: _Message) -> None:
        assert isinstance(message.method, str)
        try:
            result = await self._on_request(message.method, None if message.params is msgspec.UNSET else message.params)
            reply = _Message("2.0", id=message.id, result=result)
        except RemoteError as error:
            reply = _Message("2.0", id=message.id, error=_Error(code=error.code, message=str(error)))
        except Exception as error:  # a request we could not make sense of: the server still gets an answer
            log.warning("%s: answering %s failed: %r", self.name, message.method, error)
            reply = _Message(
                "2.0", id=message.id, error=_Error(code=-32603, message=f"{type(error).__name__}: {error}")
            )
        with contextlib.suppress(LanguageServerError):
            self._send(reply)

    def _close(self, reason: str) -> None:
        if self.closed.done():
            return
        self.closed.set_result(reason)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(LanguageServerError(f"{self.name} went away ({reason}); it is being restarted."))
        for task in self._tasks:
            task.cancel()

    async def aclose(self) -> None:
        """Stop reading and fail whatever is still waiting for an answer."""
        self._reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reading
        self._close("the connection was closed")
