"""A hostile extension that tries to use a write grant to reach beyond it: links, moves, sockets, FIFOs.

Each operation calls one system call with ``input["args"]`` and reports
``{"outcome": "allowed"}`` or ``{"outcome": "denied", "error": ...}``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any


def _bind(path: str) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)


_CALLS: dict[str, Callable[..., Any]] = {
    "link": os.link,
    "rename": os.rename,
    "symlink": os.symlink,
    "mkfifo": os.mkfifo,
    "bind": _bind,
}


def handle(operation: str, input: dict[str, Any]) -> dict[str, Any]:
    try:
        _CALLS[operation](*input["args"])
    except OSError as error:
        return {"outcome": "denied", "error": f"{type(error).__name__}: {error}"}
    return {"outcome": "allowed"}
