"""A well-behaved extension: echoes its input, reads its configuration, answers with a value as deep as asked."""

from __future__ import annotations

from typing import Any

from symphony.hookspecs import guest


def handle(operation: str, input: dict[str, Any]) -> dict[str, Any]:
    if operation == "echo":
        return {"echo": input}
    if operation == "config":
        return {"config": guest.config()}
    if operation == "nest":
        nested: dict[str, Any] = {}
        for _ in range(input["depth"]):
            nested = {"x": nested}
        return {"nested": nested}
    if operation == "fail":
        raise ValueError(f"asked to fail with {input.get('why')!r}")
    raise KeyError(operation)


async def handle_async(operation: str, input: dict[str, Any]) -> dict[str, Any]:
    if operation == "fetch":
        response = await guest.ahttp_request("GET", input["url"])
        return {"status": response.status, "body": response.body}
    return {"echo": input}
