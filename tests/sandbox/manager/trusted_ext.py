"""A trusted in-process extension for the manager tests (the same contract as a subprocess worker's)."""

from __future__ import annotations

import asyncio
from typing import Any

from symphony.hookspecs import guest


async def handle(operation: str, input: dict[str, Any]) -> Any:
    if operation == "upper":
        return {"text": str(input["text"]).upper(), "greeting": guest.config().get("greeting")}
    if operation == "sleep":
        await asyncio.sleep(float(input["seconds"]))
        return {}
    if operation == "fetch":
        return {"body": await guest.ahost_call("http.request", {"url": input["url"]})}
    if operation == "not-a-dict":
        return ["x"]
    raise ValueError(f"unknown operation {operation!r}")


def blocking(operation: str, input: dict[str, Any]) -> dict[str, Any]:
    if operation == "fetch":
        return {"body": guest.host_call("http.request", {"url": input["url"]})}
    return {"thread": True, "operation": operation, "greeting": guest.config().get("greeting")}
