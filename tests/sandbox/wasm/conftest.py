"""Fixtures for the wasm runtime tests: real components, a real loopback HTTP server.

Components are built with componentize-py once and kept, keyed by the hash of their
sources, in ``$SYMPHONY_WASM_BUILD_CACHE`` (default ``~/.cache/symphony/wasm-build``,
outside the repository). Compiled code is kept the same way in
``~/.cache/symphony/wasm-compiled-tests``, so only the first session compiles the 18 MB
CPython component; the cache tests use fresh directories of their own.
"""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import httpx
import pytest

from symphony.hookspecs import ModelAccess, NetworkAccess, Permission, PermissionDeniedError, format_permission
from symphony.sandbox.wasm import HttpRequest, HttpResponse, WasmRuntime, build_python_component

REPO: Final = Path(__file__).resolve().parents[3]
OPERATOR_DIR: Final = REPO / "sample_extensions" / "symphony-sample-wasm-operator"
OPERATOR_GUEST: Final = OPERATOR_DIR / "src" / "symphony_sample_wasm_operator" / "guest"
CORE_SAMPLE: Final = REPO / "sample_extensions" / "symphony-sample-wasm-core" / "src" / "symphony_sample_wasm_core"
HOSTILE_GUEST: Final = REPO / "tests" / "distributions" / "ext-hostile" / "src" / "symphony_test_hostile_wasm" / "guest"
GUESTS: Final = Path(__file__).resolve().parent / "guests"


def user_cache(name: str) -> Path:
    base = os.environ.get("SYMPHONY_WASM_BUILD_CACHE") if name == "wasm-build" else None
    return Path(base) if base else Path.home() / ".cache" / "symphony" / name


class AllowList:
    """A stand-in for the host's permission checker: allows exactly the listed hosts and models."""

    def __init__(self, hosts: tuple[str, ...] = (), models: tuple[str, ...] = ()) -> None:
        self.hosts = hosts
        self.models = models
        self.asked: list[Permission] = []

    def __call__(self, permission: Permission) -> None:
        self.asked.append(permission)
        if isinstance(permission, NetworkAccess) and set(permission.hosts) <= set(self.hosts):
            return
        if isinstance(permission, ModelAccess) and set(permission.models) <= set(self.models):
            return
        text = format_permission(permission)[0]
        raise PermissionDeniedError(
            f"extension 'test' may not use {text}: it is not granted; run `symphony ext grant test {text}`"
        )


class Services:
    """Real host services: httpx for the network, a tiny deterministic 'model'."""

    def __init__(self) -> None:
        self.client = httpx.Client(timeout=5.0, trust_env=False)
        self.model_calls: list[tuple[str, str]] = []

    def http_request(self, request: HttpRequest) -> HttpResponse:
        response = self.client.request(
            request.method, request.url, headers=list(request.headers), content=request.body or None
        )
        return HttpResponse(status=response.status_code, headers=tuple(response.headers.items()), body=response.content)

    def model_call(self, model: str, input: str) -> str:
        self.model_calls.append((model, input))
        return f'{{"model": "{model}", "echo": {input}}}'


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello from loopback"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def operator_component() -> Path:
    return build_python_component(OPERATOR_GUEST, "notes_operator", user_cache("wasm-build"))


@pytest.fixture(scope="session")
def hostile_component() -> Path:
    return build_python_component(HOSTILE_GUEST, "hostile_guest", user_cache("wasm-build"))


@pytest.fixture
def runtime() -> Iterator[WasmRuntime]:
    with WasmRuntime(user_cache("wasm-compiled-tests")) as rt:
        yield rt


@pytest.fixture
def fresh_runtime(tmp_path: Path) -> Iterator[WasmRuntime]:
    """A runtime with an empty compiled-code cache."""
    with WasmRuntime(tmp_path / "compiled") as rt:
        yield rt


@pytest.fixture
def services() -> Iterator[Services]:
    svc = Services()
    yield svc
    svc.client.close()


@pytest.fixture(scope="session")
def loopback() -> Iterator[str]:
    """``127.0.0.1:<port>`` of a real HTTP server answering every GET with a greeting."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
