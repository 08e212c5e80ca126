"""An extension that fetches through the host's mediated HTTP and reports what came back, or the error."""

from __future__ import annotations

from typing import Any

from symphony.hookspecs import SymphonyError, guest


def handle(operation: str, input: dict[str, Any]) -> dict[str, Any]:
    if operation != "fetch":
        raise KeyError(operation)
    try:
        response = guest.http_request("GET", input["url"])
    except SymphonyError as error:
        return {"error": type(error).__name__, "message": str(error)}
    return {"status": response.status, "size": len(response.body)}
