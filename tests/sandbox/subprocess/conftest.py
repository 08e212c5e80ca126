"""Fixtures for the subprocess runtime: real workers, a real loopback HTTP server, a real host_call.

- ``make_worker``: a factory for SubprocessWorker over the test extensions in
  ``extensions/`` and the hostile extension's source tree
  (``tests/distributions/ext-hostile/src``, also installed by the end-to-end
  tests); every worker it made is stopped after the test.  Every test using it
  runs twice: with workers forked by the zygote and with fresh interpreters.
- ``http_server``: a ``http.server`` on 127.0.0.1 (a thread), answering GET with
  ``hello from <path>``; its ``hits`` list records each path served.
- ``host_call``: the mediation a host would do: a host name allow-list, then the
  request performed with httpx.  Denials raise PermissionDeniedError naming the host.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import pytest

from symphony.hookspecs import PermissionDeniedError
from symphony.sandbox.confine import ConfinementPolicy
from symphony.sandbox.subprocess import HostCall, SubprocessWorker

EXTENSIONS: Final = str(Path(__file__).resolve().parent / "extensions")
HOSTILE: Final = str(Path(__file__).resolve().parents[2] / "distributions" / "ext-hostile" / "src")


class LoopbackServer:
    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                body = f"hello from {self.path}".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    yield server
    server.close()


def allow_list_host_call(allowed_hosts: set[str], extension: str = "hostile") -> HostCall:
    """What the host's permission checker + httpx will do: check the host name, then fetch."""

    async def host_call(method: str, params: dict[str, Any]) -> Any:
        if method != "http":
            raise PermissionDeniedError(f"extension {extension!r} called unknown host function {method!r}")
        host = urlsplit(params["url"]).hostname or ""
        if host not in allowed_hosts:
            raise PermissionDeniedError(
                f"extension {extension!r} may not reach host {host!r}: NetworkAccess not declared or granted; "
                f"grant it with `symphony ext grant {extension} network:{host}`"
            )
        async with httpx.AsyncClient(timeout=params.get("timeout") or 5.0) as client:
            response = await client.request(params["method"], params["url"], headers=params["headers"])
        return {"status": response.status_code, "headers": dict(response.headers), "body": response.text}

    return host_call


@pytest.fixture(params=[True, False], ids=["forked", "fresh-interpreter"])
async def make_worker(request: pytest.FixtureRequest) -> AsyncIterator[Callable[..., SubprocessWorker]]:
    made: list[SubprocessWorker] = []
    fork_server: bool = request.param

    def factory(
        entry: str = "symphony_test_hostile:handle",
        *,
        name: str = "hostile",
        policy: ConfinementPolicy | None = None,
        **kwargs: Any,
    ) -> SubprocessWorker:
        kwargs.setdefault("fork_server", fork_server)
        worker = SubprocessWorker(name, entry, policy=policy, sys_path=[EXTENSIONS, HOSTILE], **kwargs)
        made.append(worker)
        return worker

    yield factory
    for worker in made:
        await worker.stop()
