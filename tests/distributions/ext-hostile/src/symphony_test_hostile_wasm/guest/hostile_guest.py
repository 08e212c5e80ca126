"""A hostile Python guest: each operation tries one thing the wasm sandbox must stop.

Built into a component by the test fixtures. Operations that the sandbox answers with an
error (a denied host call, a missing file) report it as ``{"error": ...}`` so the tests
can read it; the ones the runtime must *stop* (spin, allocate, crash) are left uncaught.
"""

import json
import os
from collections.abc import Callable
from typing import Any

import wit_world  # type: ignore[import-not-found]
from componentize_py_types import Err  # type: ignore[import-not-found]
from wit_world.imports import host  # type: ignore[import-not-found]


def _attempt(action: Callable[[], Any]) -> dict[str, Any]:
    try:
        return {"ok": action()}
    except Err as exc:  # a host function's error result
        return {"error": type(exc.value).__name__, "message": exc.value.value}
    except Exception as exc:
        return {"error": type(exc).__name__, "message": str(exc)}


def _read(path: str) -> str:
    with open(path) as handle:
        return handle.read()


def _write(path: str, text: str) -> int:
    with open(path, "w") as handle:
        handle.write(text)
    return len(text)


def _http(url: str) -> dict[str, Any]:
    response = host.http_request(host.Request(method="GET", url=url, headers=[], body=b""))
    return {"status": response.status, "body": response.body.decode()}


def _socket(port: int) -> str:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return "connected"


def _spawn() -> int:
    return os.fork()


class WitWorld(wit_world.WitWorld):  # type: ignore[misc]
    def invoke(self, operation: str, input: str) -> str:
        args = json.loads(input) if input else {}
        if operation == "echo":
            return input
        if operation == "read":
            return json.dumps(_attempt(lambda: _read(args["path"])))
        if operation == "write":
            return json.dumps(_attempt(lambda: _write(args["path"], args["text"])))
        if operation == "listdir":
            return json.dumps(_attempt(lambda: sorted(os.listdir(args["path"]))))
        if operation == "env":
            return json.dumps(dict(os.environ))
        if operation == "http":
            return json.dumps(_attempt(lambda: _http(args["url"])))
        if operation == "model":
            return json.dumps(_attempt(lambda: host.model_call(args["model"], args["input"])))
        if operation == "socket":
            return json.dumps(_attempt(lambda: _socket(args["port"])))
        if operation == "spawn":
            return json.dumps(_attempt(_spawn))
        if operation == "log":
            host.log(host.Level.WARNING, args["message"])
            return "null"
        if operation == "spin":
            while True:
                pass
        if operation == "allocate":
            hoard = []
            while True:
                hoard.append(bytearray(1024 * 1024))
        if operation == "crash":
            raise ValueError("the guest gave up")
        raise Err(f"unknown operation {operation!r}")
