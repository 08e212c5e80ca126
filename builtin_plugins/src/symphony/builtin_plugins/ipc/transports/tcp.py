"""TCP transport: for the broker and for peers on other machines.

It listens on loopback unless told otherwise.  A listener on any other address
is reachable by other machines, so it refuses to start without a token (sent
in the handshake and compared in constant time); a loopback listener may also
require one.  The token is not encryption: TLS for links that leave the
machine is future work (see docs/wire-format.md).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Mapping
from typing import Any, Final

from symphony.hookspecs import TransportError

from ._streams import (
    StreamConnection,
    StreamListener,
    TransportConfig,
    TransportConfigError,
    connect_stream,
    load_config,
)

__all__ = ["DEFAULT_HOST", "TcpTransport", "is_loopback", "parse_address"]

DEFAULT_HOST: Final = "127.0.0.1"


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` for IPv6; an empty host means loopback) as ``(host, port)``."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise TransportConfigError(f"TCP address must be host:port, got {address!r}")
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
        host, port = parse_address(address)
        config = self.config
        return await connect_stream(
            address, lambda: asyncio.open_connection(host, port, limit=config.buffer_size), config
        )

    async def listen(self, address: str) -> StreamListener:
        """Listen on ``address`` (port 0 picks a free port; ``listener.address`` has the real one)."""
        host, port = parse_address(address)
        if not is_loopback(host) and not self.config.token:
            raise TransportConfigError(
                f"refusing to listen on non-loopback address {host}: other machines could connect; "
                "configure a token (TransportConfig.token) or listen on 127.0.0.1"
            )
        listener = StreamListener(address, self.config)
        try:
            server = await asyncio.start_server(listener.handle, host, port, limit=self.config.buffer_size)
        except OSError as error:
            raise TransportError(f"cannot listen on {address}: {error}") from error
        listener._attach(server)
        bound = server.sockets[0].getsockname()
        listener.address = f"[{bound[0]}]:{bound[1]}" if ":" in bound[0] else f"{bound[0]}:{bound[1]}"
        return listener
