"""Streamable HTTP for ``symphony mcp serve --http``: loopback by default, a bearer token always.

The token is compared in constant time before the SDK sees the request, so
an unauthenticated client learns nothing of the tools.  Binding anywhere but
loopback needs TLS (a certificate and key): a token sent in clear over a
network is a token given away.
"""

from __future__ import annotations

import hmac
import json
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

__all__ = ["bearer_guard", "listening_socket"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_REFUSED: Final = json.dumps({"error": "unauthorized: send 'Authorization: Bearer <token>'"}).encode()


def bearer_guard(app: App, token: str) -> App:
    """``app`` behind ``Authorization: Bearer <token>``: any other request is answered 401 (a websocket, closed)."""
    expected = f"Bearer {token}".encode()

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await app(scope, receive, send)
            return
        given = dict(scope.get("headers") or ()).get(b"authorization", b"")
        if hmac.compare_digest(given, expected):
            await app(scope, receive, send)
        elif scope["type"] == "websocket":  # none is served, but none gets past without the token either
            await send({"type": "websocket.close", "code": 1008})
        else:
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
                }
            )
            await send({"type": "http.response.body", "body": _REFUSED})

    return guarded


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening socket (port 0: one the system picks), so the real address can be printed first."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock
