"""The data service over HTTP (``symphony data serve``): its ASGI app on uvicorn, loopback unless TLS is set up.

Tokens travel in every request's Authorization header, so a bind another machine can
reach must be TLS; the server refuses to start otherwise.  SIGTERM and SIGINT stop it
gracefully: no new connections, requests in flight finish (at most ``GRACE`` seconds),
then the app's lifespan closes the database.
"""

from __future__ import annotations

import asyncio
import ipaddress
import signal
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from symphony.hookspecs import ConfigurationError

__all__ = ["GRACE", "bind", "is_loopback", "serve"]

#: Seconds requests in flight get to finish after SIGTERM/SIGINT before their connections are closed.
GRACE = 10
#: Connections served at once; beyond it uvicorn answers 503 instead of queueing without bound.
MAX_CONNECTIONS = 1024


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only: ``localhost`` or a loopback address."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # any other name may resolve to an address others reach


def check_bind(host: str, tls_cert: Path | None, tls_key: Path | None) -> None:
    """Refuse a configuration that would send tokens in clear text over a network, or half a TLS setup."""
    if (tls_cert is None) != (tls_key is None):
        raise ConfigurationError("TLS needs both --tls-cert and --tls-key (PEM files); give both or neither.")
    for option, path in (("--tls-cert", tls_cert), ("--tls-key", tls_key)):
        if path is not None and not path.is_file():
            raise ConfigurationError(f"{option} {path}: no such file; give the PEM file's path.")
    if tls_cert is None and not is_loopback(host):
        raise ConfigurationError(
            f"Refusing to serve on {host} without TLS: bearer tokens would cross the network in clear text."
            " Give --tls-cert and --tls-key, or bind a loopback address (--host 127.0.0.1) behind a TLS proxy."
        )


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto named explicitly: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose proto says TCP; with
    # Nagle on, a keep-alive response's second write waits for the client's delayed ACK (~40 ms a request).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as error:
        sock.close()
        raise ConfigurationError(
            f"Cannot listen on {host}:{port}: {error.strerror}; choose another --port (0 picks a free one)."
        ) from None
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, saying where it listens once it accepts connections, and exiting 0 on SIGTERM/SIGINT."""

    def __init__(self, config: uvicorn.Config, on_listening: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_listening = on_listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit:
            self._on_listening()

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn re-raises the signal after a graceful stop (so SIGTERM would end the process with -15);
        # a service asked to stop that stopped cleanly has succeeded.
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {number: signal.signal(number, self.handle_exit) for number in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


def serve(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    on_listening: Callable[[str], None],
) -> None:
    """Serve ``app`` until SIGTERM/SIGINT; ``on_listening(url)`` is called once connections are accepted."""
    check_bind(host, tls_cert, tls_key)
    sock = bind(host, port)
    bound = sock.getsockname()[1]
    scheme = "https" if tls_cert is not None else "http"
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    config = uvicorn.Config(
        app,
        lifespan="on",
        ssl_certfile=None if tls_cert is None else str(tls_cert),
        ssl_keyfile=None if tls_key is None else str(tls_key),
        log_level="warning",
        access_log=False,  # the log never sees request lines; tokens are in headers, which it never sees either
        server_header=False,
        limit_concurrency=MAX_CONNECTIONS,
        timeout_graceful_shutdown=GRACE,
    )
    try:
        config.load()  # reads the certificate and key now, so a bad one is an error here, not a traceback later
    except (ssl.SSLError, OSError) as error:
        sock.close()
        raise ConfigurationError(
            f"Cannot use --tls-cert/--tls-key: {error}; give a PEM certificate and its key."
        ) from None
    server = _Server(config, lambda: on_listening(f"{scheme}://{shown}:{bound}"))
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        sock.close()
    if not server.started:
        raise ConfigurationError("The data service did not start; its error is printed above.")
