"""stdio transport: frames over a child process's stdin and stdout.

The mechanism is the SDK's (:mod:`symphony.hookspecs.wire.stdio`), shared
with the sandbox's worker: one framing, not two.  This module puts it behind
the Transport port, configured like the other transports.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any, Final

from symphony.hookspecs import TransportError
from symphony.hookspecs.wire.connection import StreamConnection
from symphony.hookspecs.wire.stdio import ProcessConnection, StdioOptions, spawn_stdio
from symphony.hookspecs.wire.stdio import serve_stdio as _serve

from ._streams import TransportConfig, load_config

__all__ = ["ProcessConnection", "StdioTransport", "serve_stdio"]


def _options(config: TransportConfig) -> StdioOptions:
    return StdioOptions(
        buffer_size=config.buffer_size,
        timeout=config.timeout,
        max_frame_size=config.max_frame_size,
        codecs=config.codecs,
        output_limit=config.output_limit,
    )


class StdioTransport:
    """The Transport port over a child's pipes; the ``address`` is the command line to run."""

    scheme: Final = "stdio"

    def __init__(self, config: TransportConfig | Mapping[str, Any] | None = None) -> None:
        self.config = load_config(config)

    async def connect(self, address: str) -> ProcessConnection:
        """Start ``address`` (split like a POSIX shell would, but not run by one) and handshake."""
        return await self.spawn(shlex.split(address))

    async def spawn(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> ProcessConnection:
        """Start the child ``argv`` (no shell involved) and handshake over its pipes."""
        return await spawn_stdio(argv, env, _options(self.config))

    async def listen(self, address: str) -> Any:
        """Not meaningful: a child does not accept connections, it is one.  See :func:`serve_stdio`."""
        raise TransportError("the stdio transport cannot listen; the child process calls serve_stdio() instead")


async def serve_stdio(config: TransportConfig | Mapping[str, Any] | None = None) -> StreamConnection:
    """In the child: answer the parent's handshake on stdin/stdout (see the SDK's ``serve_stdio``)."""
    return await _serve(_options(load_config(config)))
