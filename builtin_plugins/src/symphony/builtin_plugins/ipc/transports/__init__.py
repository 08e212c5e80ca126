"""Stream transports (Unix socket, TCP, stdio) behind the Transport port.

All three share framing (:mod:`..framing`), the handshake (:mod:`..handshake`),
one asyncio protocol for the bytes (:mod:`._protocol`) and one
Connection/Listener implementation (:mod:`._streams`); TLS for TCP is built
in :mod:`._tls` from the settings in :mod:`._config`.

Names are imported on first use: every command loads the transports plugin, few open a connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._streams import StreamConnection, StreamListener, TransportConfig, TransportConfigError, load_config
    from ._tls import TlsError
    from .stdio import ProcessConnection, StdioTransport, serve_stdio
    from .tcp import TcpTransport
    from .unix import UnixTransport

__all__ = [
    "ProcessConnection",
    "StdioTransport",
    "StreamConnection",
    "StreamListener",
    "TcpTransport",
    "TlsError",
    "TransportConfig",
    "TransportConfigError",
    "UnixTransport",
    "load_config",
    "serve_stdio",
]

_HOME = {
    "ProcessConnection": "stdio",
    "StdioTransport": "stdio",
    "StreamConnection": "_streams",
    "StreamListener": "_streams",
    "TcpTransport": "tcp",
    "TlsError": "_tls",
    "TransportConfig": "_streams",
    "TransportConfigError": "_streams",
    "UnixTransport": "unix",
    "load_config": "_streams",
    "serve_stdio": "stdio",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
