"""The protocol's error codes, and the exception a handler raises to answer with one."""

from __future__ import annotations

from typing import Any

__all__ = [
    "CHANGED_ON_DISK",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "IO_ERROR",
    "METHOD_NOT_FOUND",
    "NO_SUCH_VIEW",
    "PARSE_ERROR",
    "STALE_REVISION",
    "RpcError",
]

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
NO_SUCH_VIEW = -32001
STALE_REVISION = -32010
CHANGED_ON_DISK = -32020
IO_ERROR = -32030


class RpcError(Exception):
    """An error response: ``code`` from the list above, a message saying what is wrong and how to fix it."""

    def __init__(self, code: int, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            body["data"] = self.data
        return body
