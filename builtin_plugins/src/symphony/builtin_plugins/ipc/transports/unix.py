"""Unix domain socket transport: the default for processes on one machine.

Who may connect is decided twice, because a filesystem path is visible to
every local user: the socket file is owner-only (created under umask 0o177
and chmod 0o600 right after bind, so no other user can even open it), and the
server asks the kernel for the connecting process's credentials
(``SO_PEERCRED``) and refuses a uid other than its own (or those listed in
``allowed_uids``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import struct
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Final

from symphony.hookspecs import TransportError
from symphony.hookspecs.wire.frames import FrameProtocol

from ._streams import (
    StreamConnection,
    StreamListener,
    TransportConfig,
    TransportConfigError,
    connect_stream,
    load_config,
)

__all__ = ["UnixTransport", "peer_credentials"]

log = logging.getLogger("symphony.ipc.transport.unix")

_UCRED: Final = struct.Struct("3i")  # struct ucred { pid_t pid; uid_t uid; gid_t gid; }


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """``(pid, uid, gid)`` of the process at the other end of a connected Unix socket."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    pid, uid, gid = _UCRED.unpack(raw)
    return pid, uid, gid


class UnixTransport:
    """The Transport port over Unix domain sockets; ``address`` is a filesystem path."""

    scheme: Final = "unix"

    def __init__(self, config: TransportConfig | Mapping[str, Any] | None = None) -> None:
        self.config = load_config(config)

    async def connect(self, address: str) -> StreamConnection:
        loop = asyncio.get_running_loop()

        def open_frames(factory: Callable[[], FrameProtocol]) -> Awaitable[tuple[Any, FrameProtocol]]:
            return loop.create_unix_connection(factory, address)

        return await connect_stream(address, open_frames, self.config)

    async def listen(self, address: str) -> StreamListener:
        path = Path(address)
        if path.exists():
            if not path.is_socket():
                raise TransportConfigError(f"{address} exists and is not a socket; refusing to replace it")
            path.unlink()  # a stale socket from a previous run
        allowed = set(self.config.allowed_uids) if self.config.allowed_uids is not None else {os.getuid()}
        listener = StreamListener(address, self.config, peer_check=lambda t: _check_peer(t, allowed))
        old_umask = os.umask(0o177)
        try:
            server = await asyncio.get_running_loop().create_unix_server(listener.protocol_factory, address)
        except OSError as error:
            raise TransportError(f"cannot listen on {address}: {error}") from error
        finally:
            os.umask(old_umask)
        os.chmod(address, 0o600)
        listener._attach(server)

        def unlink() -> None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

        listener.on_close(unlink)
        return listener


def _check_peer(transport: asyncio.BaseTransport, allowed: set[int]) -> str | None:
    sock = transport.get_extra_info("socket")
    try:
        pid, uid, _gid = peer_credentials(sock)
    except (OSError, AttributeError) as error:
        return f"cannot read peer credentials: {error}"
    if uid not in allowed:
        log.warning("unix peer pid %d uid %d is not allowed (allowed uids: %s)", pid, uid, sorted(allowed))
        return f"peer uid {uid} is not allowed on this socket"
    return None
