"""Contributes the unix, tcp, stdio and shm transports, registered like any third party's."""

from __future__ import annotations

from symphony.hookspecs import TransportSpec, hookimpl
from symphony.hookspecs.ports import HostContext

from .shm import ShmTransport
from .stdio import StdioTransport
from .tcp import TcpTransport
from .unix import UnixTransport

SYMPHONY_API = "^1.0"

TRANSPORTS = (
    TransportSpec(
        name="unix",
        factory=UnixTransport,
        schemes=("unix",),
        description="Unix domain socket: owner-only socket file, peer uid checked with SO_PEERCRED.",
    ),
    TransportSpec(
        name="tcp",
        factory=TcpTransport,
        schemes=("tcp",),
        description="TCP: loopback by default; any other address requires a handshake token and TLS.",
    ),
    TransportSpec(
        name="stdio",
        factory=StdioTransport,
        schemes=("stdio",),
        description="A child process's stdin/stdout; the address is the command to run.",
    ),
    TransportSpec(
        name="shm",
        factory=ShmTransport,
        schemes=("shm",),
        description="Shared-memory rings for local hot paths; set up over an owner-only Unix socket (the address).",
    ),
)


@hookimpl
def symphony_transports(context: HostContext) -> list[TransportSpec]:
    return list(TRANSPORTS)
