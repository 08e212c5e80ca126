"""Stream transports (Unix socket, TCP, stdio) behind the Transport port.

All three share framing (:mod:`..framing`), the handshake (:mod:`..handshake`),
one asyncio protocol for the bytes (:mod:`._protocol`) and one
Connection/Listener implementation (:mod:`._streams`); TLS for TCP is built
in :mod:`._tls` from the settings in :mod:`._config`.
"""

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
