"""A hostile HTTP server on loopback for the mediated-HTTP tests (``with MediationServer() as server``):
its bodies are generated, never stored.

Paths (every request is recorded in ``hits`` as ``(path, Host header)``):

- ``/whoami``: answers ``vhost <Host header>``, as a server with virtual hosts would;
- ``/headers``: the request's headers as JSON;
- ``/big/<n>``: ``n`` bytes of ``a``, written in 1 MiB pieces until the client hangs up;
- ``/bomb/<n>``: ``n`` zero bytes gzip-compressed on the fly (``Content-Encoding: gzip``);
- ``/trickle``: announces a gigabyte, then sends one byte every 50 ms until the client hangs up;
- ``/redirect?to=URL``: 302 to ``URL``.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_MIB = 1024 * 1024


class MediationServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        super().__init__((address, 0), _Handler)
        self.address = address
        self.hits: list[tuple[str, str | None]] = []
        self.scheme = "http"
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
            self.scheme = "https"

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, path: str, host: str | None = None) -> str:
        return f"{self.scheme}://{host or self.address}:{self.port}{path}"

    def __enter__(self) -> MediationServer:
        """Serving on a daemon thread until the ``with`` ends."""
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: MediationServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        self.server.hits.append((self.path, self.headers.get("Host")))
        parts = urlsplit(self.path)
        name, _, arg = parts.path.strip("/").partition("/")
        try:
            if name == "whoami":
                self._send(f"vhost {self.headers.get('Host')}".encode())
            elif name == "headers":
                self._send(json.dumps(dict(self.headers.items())).encode())
            elif name == "big":
                self._big(int(arg))
            elif name == "bomb":
                self._bomb(int(arg))
            elif name == "trickle":
                self._trickle()
            elif name == "redirect":
                self.send_response(302)
                self.send_header("Location", parse_qs(parts.query)["to"][0])
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_error(404)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _big(self, size: int) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        piece = b"a" * _MIB
        while size > 0:
            self.wfile.write(piece[:size])
            size -= len(piece)

    def _bomb(self, size: int) -> None:
        self.send_response(200)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        zeros = bytes(_MIB)
        for _ in range(size // _MIB):
            self.wfile.write(packer.compress(zeros))
        self.wfile.write(packer.flush())

    def _trickle(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(1024 * _MIB))
        self.end_headers()
        while True:
            self.wfile.write(b"x")
            self.wfile.flush()
            time.sleep(0.05)
