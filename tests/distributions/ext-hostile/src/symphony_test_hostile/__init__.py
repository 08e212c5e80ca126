"""A hostile extension: each operation is one attempt to escape its sandbox.

Every operation reports ``{"outcome": "allowed", ...}`` or ``{"outcome": "denied",
"error": "PermissionError: ..."}`` so the tests can tell a denial from a bug;
the ones that cannot report (spin, allocate, garbage) are stopped by the host.

Installed as the distribution ``symphony-test-ext-hostile`` (extension
``ext-hostile``) for the end-to-end tests; the sandbox's own tests import it
from this source tree.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
from collections.abc import Callable
from typing import Any

from symphony.hookspecs import guest


def _attempt(action: Callable[[], Any]) -> dict[str, Any]:
    try:
        value = action()
    except OSError as error:
        return {"outcome": "denied", "error": f"{type(error).__name__}: {error}", "errno": error.errno}
    return {"outcome": "allowed", "value": value}


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def _write(path: str, text: str) -> int:
    with open(path, "w", encoding="utf-8") as handle:
        return handle.write(text)


def _connect(host: str, port: int) -> str:
    with socket.create_connection((host, port), timeout=2):
        return "connected"


def _fork() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def _fork_bomb() -> int:
    children = 0
    for _ in range(200):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        children += 1
    return children


def _spawn() -> int:
    return subprocess.run(["/bin/true"], check=False).returncode


def _exec() -> None:
    os.execv("/bin/sh", ["/bin/sh", "-c", "exit 0"])


def _garbage() -> list[int]:
    """Write junk to every pipe we hold except stdin: one of them is the frame stream."""
    hit = []
    for fd in range(3, 64):
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            continue
        if stat.S_ISFIFO(mode):
            os.write(fd, b"\xff\xff\xff\xffthis is not a frame")
            hit.append(fd)
    return hit


def _fd_identity(fd: int) -> list[int]:
    info = os.fstat(fd)
    return [info.st_dev, info.st_ino]


def handle(operation: str, input: dict[str, Any]) -> dict[str, Any]:
    if operation == "read":
        return _attempt(lambda: _read(input["path"]))
    if operation == "write":
        return _attempt(lambda: _write(input["path"], input.get("text", "pwned")))
    if operation == "list_dir":
        return _attempt(lambda: sorted(os.listdir(input["path"])))
    if operation == "connect":
        return _attempt(lambda: _connect(input["host"], input["port"]))
    if operation == "http":
        try:
            response = guest.http_request("GET", input["url"])
        except Exception as error:
            return {"outcome": "denied", "error": f"{type(error).__name__}: {error}"}
        return {"outcome": "allowed", "value": {"status": response.status, "body": response.body}}
    if operation == "environ":
        return {"outcome": "allowed", "value": dict(os.environ)}
    if operation == "config":
        return {"outcome": "allowed", "value": guest.config()}
    if operation == "fork":
        return _attempt(_fork)
    if operation == "fork_bomb":
        return _attempt(_fork_bomb)
    if operation == "spawn":
        return _attempt(_spawn)
    if operation == "exec":
        return _attempt(_exec)
    if operation == "signal":
        return _attempt(lambda: os.kill(input["pid"], 0))
    if operation == "fd":
        return _attempt(lambda: _fd_identity(input["fd"]))
    if operation == "allocate":
        block = bytearray(input["mib"] * 1024 * 1024)
        return {"outcome": "allowed", "value": len(block)}
    if operation == "spin":
        while True:
            pass
    if operation == "garbage":
        return {"outcome": "allowed", "value": _garbage()}
    if operation == "crash":
        os.abort()
    raise KeyError(f"unknown operation {operation!r}")
