"""Helpers of the end-to-end extension tests.

- :func:`loopback_server`: a real HTTP server on 127.0.0.1, the one host the sample
  fetcher declares.
- :func:`share_compiled_wasm`: point a run's Wasmtime code cache at one shared directory,
  since compiling a Python component takes seconds per fresh cache.
- :func:`serve`: one fresh host process that runs a plan of invocations through one
  ``extension_runtime`` port (the ExtensionPort), as a long-running host would, and
  reports each result or error and the component health at the end.
"""

from __future__ import annotations

import http.server
import json
import textwrap
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from tests.conftest import Symphony


@dataclass(frozen=True)
class Hit:
    """One request the server answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class LoopbackServer:
    """Answers every POST with ``echo: <body>`` and every GET with ``hello``; records each request."""

    port: int = 0
    hits: list[Hit] = field(default_factory=list)

    def url(self, path: str = "/answer", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@contextmanager
def loopback_server() -> Iterator[LoopbackServer]:
    state = LoopbackServer()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self, body: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            received = self.rfile.read(length).decode("utf-8", "replace")
            state.hits.append(Hit(self.command, self.path, dict(self.headers.items()), received))
            data = body.format(received=received).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            self._answer("echo: {received}")

        def do_GET(self) -> None:
            self._answer("hello")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


#: Runs ``sys.argv[1]`` (a JSON list of [extension, operation, input]) through one host's
#: extension_runtime port; logs everything at DEBUG to stderr; prints one JSON document.
_SERVE: Final = textwrap.dedent(
    """
    import asyncio, json, logging, sys
    from symphony.hookspecs import ExtensionId, SymphonyError
    from symphony.host import Host

    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)

    async def main(plan):
        host = Host()
        host.load()
        results = []
        async with host:
            runtime = host.context.port("extension_runtime")
            for name, operation, values in plan:
                try:
                    payload = {"operation": operation, "input": values}
                    answer = await runtime.invoke_extension(ExtensionId(name), payload)
                    results.append({"result": answer})
                except SymphonyError as error:
                    results.append({"error": type(error).__name__, "message": str(error)})
            health = (await host.health()).components["extension_runtime"]
        print(json.dumps({"results": results, "health": [health.status, health.message]}))

    asyncio.run(main(json.loads(sys.argv[1])))
    """
)


@dataclass(frozen=True)
class Served:
    """What :func:`serve` saw: one entry per invocation, the port's health, the host's log."""

    results: list[dict[str, Any]]
    health: tuple[str, str]
    log: str


Step = tuple[str, str, dict[str, Any]]


def serve(ext: Symphony, plan: Sequence[Step], env: dict[str, str] | None = None) -> Served:
    """Run ``plan`` in one fresh host process over ``ext``'s sites, settings and environment."""
    finished = ext.python(_SERVE, json.dumps(plan), env=env)
    assert finished.returncode == 0, finished.stderr
    document = json.loads(finished.stdout)
    status, message = document["health"]
    return Served(document["results"], (status, message), finished.stderr)


def share_compiled_wasm(ext: Symphony, compiled: Path) -> Symphony:
    """Make ``ext``'s compiled-code cache (``<cache_dir>/wasm``) the shared directory ``compiled``.

    Safe to share: entries are keyed by the module's hash and the engine, and renamed into place.
    """
    ext.cache_dir.mkdir(parents=True, exist_ok=True)
    (ext.cache_dir / "wasm").symlink_to(compiled, target_is_directory=True)
    return ext
