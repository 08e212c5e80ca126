"""The HTTP proxy an MCP server's connections end in: each request becomes the host's mediated ``http`` call.

It listens on a socket made inside the server's private network namespace
(the only address the server can reach), reads one plain-HTTP proxy request
per connection (``GET http://host:port/path``), and hands it to the host's
``http`` function, which checks it against the extension's grants, audits it
and performs it.  The answer goes back as an ordinary response; a denial is a
``403`` whose body says what was denied and why.  ``CONNECT`` (an HTTPS
tunnel) is refused: the host can only mediate a request it can read.
"""

from __future__ import annotations

import asyncio
import http
import socket
from typing import Any, Final

from symphony.hookspecs import PermissionDeniedError, SymphonyError
from symphony.hookspecs.runtimes import HostCall

__all__ = ["MediatingProxy"]

_MAX_HEAD: Final = 64 * 1024
_MAX_BODY: Final = 8 * 1024 * 1024
_READ_SECONDS: Final = 30.0
#: Headers about this hop or the proxy: never passed on (the host refuses requests carrying them).
_HOP: Final = frozenset((
    "host", "connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "content-length", "expect", "accept-encoding",
))  # fmt: skip
#: Response headers that described the host's transfer, not the decoded text passed on.
_TRANSFER: Final = frozenset({"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"})


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class MediatingProxy:
    """Serves one extension's proxied requests through ``host_call("http", ...)``; counts them."""

    def __init__(self, name: str, host_call: HostCall) -> None:
        self.name = name
        self._host_call = host_call
        self._server: asyncio.Server | None = None
        self.requests = 0

    async def start(self, listener: socket.socket) -> None:
        self._server = await asyncio.start_server(self._serve, sock=listener, limit=_MAX_HEAD)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, headers, body = await self._answer(reader)
        except _BadRequest as error:
            status, headers, body = error.status, {"content-type": "text/plain; charset=utf-8"}, str(error)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
            writer.close()
            return
        try:
            writer.write(_response(status, headers, body))
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[int, dict[str, str], str]:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_SECONDS)
        method, url, headers = _parse_head(head)
        if method == "CONNECT":
            raise _BadRequest(
                405,
                f"extension {self.name!r}: HTTPS tunnels (CONNECT {url}) are not mediated; the host checks and audits"
                " each request, which it cannot read inside a tunnel. Use an http:// URL through this proxy.",
            )
        if not url.startswith(("http://", "https://")):
            raise _BadRequest(400, f"expected an absolute http:// URL in a proxy request, got {url!r}")
        length = int(headers.pop("content-length", "0") or "0")
        if length > _MAX_BODY:
            raise _BadRequest(413, f"a mediated request body may carry at most {_MAX_BODY} bytes, got {length}")
        raw = await asyncio.wait_for(reader.readexactly(length), _READ_SECONDS) if length else b""
        self.requests += 1
        params: dict[str, Any] = {"url": url, "method": method, "headers": headers}
        if raw:
            params["body"] = raw.decode("utf-8", "replace")
        try:
            answer = await self._host_call("http", params)
        except PermissionDeniedError as error:
            raise _BadRequest(403, str(error)) from None
        except SymphonyError as error:
            raise _BadRequest(502, str(error)) from None
        kept = {key: value for key, value in answer["headers"].items() if key.lower() not in _TRANSFER}
        return int(answer["status"]), kept, str(answer["body"])


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _BadRequest(400, f"expected an HTTP/1.x request line, got {lines[0][:200]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        key, colon, value = line.partition(":")
        if not colon:
            raise _BadRequest(400, f"expected a 'Name: value' header line, got {line[:200]!r}")
        name = key.strip().lower()
        if name == "transfer-encoding":
            raise _BadRequest(411, "a chunked request body is not mediated; send it with a Content-Length")
        if name == "content-length":
            headers[name] = value.strip()
        elif name not in _HOP:
            headers[key.strip()] = value.strip()
    return parts[0].upper(), parts[1], headers


def _response(status: int, headers: dict[str, str], body: str) -> bytes:
    data = body.encode()
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{key}: {value}" for key, value in headers.items()]
    lines += [f"Content-Length: {len(data)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1", "replace") + data
