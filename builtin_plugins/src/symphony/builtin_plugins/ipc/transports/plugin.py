"""Contributes the unix, tcp, stdio and shm transports, registered like any third party's.

Each factory imports its transport when first called: every command loads this
plugin, and asyncio's streams, TLS and shared memory are for those that connect.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from symphony.hookspecs import TransportSpec, hookimpl
from symphony.hookspecs.ports import HostContext

SYMPHONY_API = "^1.0"


def _unix(config: Mapping[str, Any]) -> Any:
    from .unix import UnixTransport

    return UnixTransport(config)


def _tcp(config: Mapping[str, Any]) -> Any:
    from .tcp import TcpTransport

    return TcpTransport(config)


def _stdio(config: Mapping[str, Any]) -> Any:
    from .stdio import StdioTransport

    return StdioTransport(config)


def _shm(config: Mapping[str, Any]) -> Any:
    from .shm import ShmTransport

    return ShmTransport(config)


TRANSPORTS = (
    TransportSpec(
        name="unix",
        factory=_unix,
        schemes=("unix",),
        description="Unix domain socket: owner-only socket file, peer uid checked with SO_PEERCRED.",
    ),
    TransportSpec(
        name="tcp",
        factory=_tcp,
        schemes=("tcp",),
        description="TCP: loopback by default; any other address requires a handshake token and TLS.",
    ),
    TransportSpec(
        name="stdio",
        factory=_stdio,
        schemes=("stdio",),
        description="A child process's stdin/stdout; the address is the command to run.",
    ),
    TransportSpec(
        name="shm",
        factory=_shm,
        schemes=("shm",),
        description="Shared-memory rings for local hot paths; set up over an owner-only Unix socket (the address).",
    ),
)


@hookimpl
def symphony_transports(context: HostContext) -> list[TransportSpec]:
    return list(TRANSPORTS)
