"""The launcher's work: a private network with the proxy's socket handed over, confinement, then ``exec``."""

from __future__ import annotations

import fcntl
import os
import socket
import struct
import sys
from typing import Final

import msgspec

from ..confine import ConfinementRefusedError, UnavailableError, confine
from ..confine.namespaces import enter_private_network
from ._spec import ServerSpec

__all__ = ["REFUSED", "become"]

#: The exit status when the server was not started (confinement refused or failed): nothing of it ran.
REFUSED: Final = 125
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
#: The variables that point a server's HTTP clients at the proxy (upper and lower case are both read).
_PROXY_VARIABLES: Final = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


def _loopback_up() -> None:
    """Bring up ``lo`` in the new namespace (the namespace's own CAP_NET_ADMIN allows it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack_from("16sh", fcntl.ioctl(probe, _SIOCGIFFLAGS, request + bytes(22)))[1]
        fcntl.ioctl(probe, _SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | _IFF_UP) + bytes(22))


def _hand_over_proxy(handoff: str) -> int:
    """Listen on the namespace's loopback, send the listener to the runtime; the port the server must use."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = int(listener.getsockname()[1])
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as channel:
        channel.connect(handoff)
        socket.send_fds(channel, [b"proxy"], [listener.fileno()])
    listener.close()  # the runtime holds it now; the server never can accept on it
    return port


def _private_network(spec: ServerSpec) -> int:
    try:
        enter_private_network()
    except UnavailableError as error:
        reason = error.strerror or str(error)
        if not spec.policy.weaker_allowed:
            raise ConfinementRefusedError({"namespaces": reason}) from None
        # weaker_allowed: the host's network, where the proxy is only the server's choice, not its only way out
        print(f"symphony: MCP server running without namespaces ({reason})", file=sys.stderr, flush=True)
        return _hand_over_proxy(spec.handoff)
    _loopback_up()
    return _hand_over_proxy(spec.handoff)


def become(raw_spec: str) -> int:
    """Confine this process as ``raw_spec`` says and ``exec`` the server; returns only if it cannot."""
    spec = msgspec.json.decode(raw_spec, type=ServerSpec)
    try:
        port = _private_network(spec)
        report = confine(spec.policy, read_paths=spec.read_paths, write_paths=spec.write_paths)
    except (ConfinementRefusedError, OSError) as error:
        print(f"symphony: the MCP server was not started: {error}", file=sys.stderr, flush=True)
        return REFUSED
    for name, reason in report.skipped.items():
        print(f"symphony: MCP server running without {name} ({reason})", file=sys.stderr, flush=True)
    proxy = f"http://127.0.0.1:{port}"
    env = {**spec.env, **dict.fromkeys(_PROXY_VARIABLES, proxy), "NO_PROXY": "", "no_proxy": ""}
    try:
        os.execve(spec.command[0], list(spec.command), env)
    except OSError as error:
        print(f"symphony: cannot start the MCP server {spec.command[0]!r}: {error}", file=sys.stderr, flush=True)
    return REFUSED
