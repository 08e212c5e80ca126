"""TCP transport: for the broker and for peers on other machines.

It listens on loopback unless told otherwise.  A listener on any other address
is reachable by other machines, so it refuses to start without both a token
(sent in the handshake and compared in constant time: who may connect) and
TLS (``tls`` with ``tls_cert``: nobody on the path can read or alter the
link).  On loopback both are optional.  A TLS client always verifies the
server's certificate and host name; see :mod:`._tls`.

A listener's sockets probe idle peers (TCP keepalive, inherited by every
accepted socket): a peer that vanished without closing (its machine or link
went down) is dropped within :data:`KEEPALIVE` instead of holding a
connection place forever.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from symphony.hookspecs import TransportError
from symphony.hookspecs.wire.frames import FrameProtocol
from symphony.hookspecs.wire.handshake import HandshakeRefusedError

from ._streams import (
    StreamConnection,
    StreamListener,
    TransportConfig,
    TransportConfigError,
    connect_stream,
    load_config,
)
from ._tls import TlsError, client_context, server_context

__all__ = ["DEFAULT_HOST", "KEEPALIVE", "TcpTransport", "is_loopback", "parse_address"]

DEFAULT_HOST: Final = "127.0.0.1"
#: Keepalive of accepted sockets: first probe after 60 s idle, then every 10 s; 6 unanswered drop the peer.
KEEPALIVE: Final = {socket.TCP_KEEPIDLE: 60, socket.TCP_KEEPINTVL: 10, socket.TCP_KEEPCNT: 6}


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` for IPv6; an empty host means loopback) as ``(host, port)``."""
    host, sep, port = address.rpartition(":")
    # ASCII digits only: str.isdigit() also accepts '²', which int() refuses, and thousands of digits.
    if not sep or not (port.isascii() and port.isdigit() and len(port) <= 5) or int(port) > 65535:
        raise TransportConfigError(
            f"TCP address must be host:port with a port from 0 to 65535 (0: any free port), got {address!r}"
        )
    host = host.removeprefix("[").removesuffix("]") or DEFAULT_HOST
    return host, int(port)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``; a host name other than that counts as remote."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class TcpTransport:
    """The Transport port over TCP; addresses are ``host:port``."""

    scheme: Final = "tcp"

    def __init__(self, config: TransportConfig | Mapping[str, Any] | None = None) -> None:
        self.config = load_config(config)

    async def connect(self, address: str) -> StreamConnection:
        """Dial ``address``; with ``tls``, verify the server's certificate (TlsError if it is not trusted)."""
        host, port = parse_address(address)
        config = self.config
        loop = asyncio.get_running_loop()
        context = client_context(config) if config.tls else None
        server_name = (config.tls_server_name or host) if context is not None else None

        def open_frames(factory: Callable[[], FrameProtocol]) -> Awaitable[tuple[Any, FrameProtocol]]:
            return loop.create_connection(
                factory,
                host,
                port,
                ssl=context,
                server_hostname=server_name,
                ssl_handshake_timeout=config.timeout if context is not None else None,
            )

        try:
            return await connect_stream(address, open_frames, config)
        except (HandshakeRefusedError, TlsError):
            raise
        except TransportError as error:
            if config.tls or not error.message.startswith("peer closed"):
                raise
            raise TransportError(
                f"{error.message} during the handshake; if the listener at {address} requires TLS, "
                "set tls: true (and tls_ca)"
            ) from None

    async def listen(self, address: str) -> StreamListener:
        """Listen on ``address`` (port 0 picks a free port; ``listener.address`` has the real one).

        Beyond loopback, both a token and TLS are required (TransportConfigError names what is missing).
        """
        host, port = parse_address(address)
        config = self.config
        if not is_loopback(host):
            missing = [
                what
                for what, present in (
                    ("a token (token: ...)", bool(config.token)),
                    ("TLS (tls: true with tls_cert and tls_key)", config.tls),
                )
                if not present
            ]
            if missing:
                raise TransportConfigError(
                    f"refusing to listen on non-loopback address {host}: other machines could connect; "
                    f"configure {' and '.join(missing)}, or listen on 127.0.0.1"
                )
        context = server_context(config) if config.tls else None
        listener = StreamListener(address, config, tls=context)
        try:
            server = await asyncio.get_running_loop().create_server(listener.protocol_factory, host, port)
        except OSError as error:
            raise TransportError(f"cannot listen on {address}: {error}") from error
        for sock in server.sockets:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            for option, value in KEEPALIVE.items():
                sock.setsockopt(socket.IPPROTO_TCP, option, value)
        listener._attach(server)
        bound = server.sockets[0].getsockname()
        listener.address = f"[{bound[0]}]:{bound[1]}" if ":" in bound[0] else f"{bound[0]}:{bound[1]}"
        return listener
