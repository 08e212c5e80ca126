"""A mirror of an index: its files as static HTTP on loopback (what a mirror is), recording what clients ask for."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["Mirror", "static_mirror"]


class Mirror:
    """A running mirror: ``url`` serves ``directory``; ``requests`` lists the paths asked for, in order."""

    def __init__(self, url: str, directory: Path) -> None:
        self.url = url
        self.directory = directory
        self.requests: list[str] = []


@contextmanager
def static_mirror(directory: Path) -> Iterator[Mirror]:
    """Serve ``directory`` (a copy of a registry directory: ``tuf/``, ``packages/``, ``publishers.json``)."""
    requests: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            super().do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    mirror = Mirror(f"http://127.0.0.1:{server.server_address[1]}/", directory)
    mirror.requests = requests
    try:
        yield mirror
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
