"""Stream transports (Unix socket, TCP, stdio) behind the Transport port.

All three share framing (:mod:`..framing`), the handshake (:mod:`..handshake`)
and one Connection/Listener implementation (:mod:`._streams`).
"""

from ._streams import StreamConnection, StreamListener, TransportConfig, TransportConfigError, load_config
from .stdio import ProcessConnection, StdioTransport, serve_stdio
from .tcp import TcpTransport
from .unix import UnixTransport

__all__ = [
    "ProcessConnection",
    "StdioTransport",
    "StreamConnection",
    "StreamListener",
    "TcpTransport",
    "TransportConfig",
    "TransportConfigError",
    "UnixTransport",
    "load_config",
    "serve_stdio",
]
