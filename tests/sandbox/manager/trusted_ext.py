"""A trusted in-process extension for the manager tests; importing it is recorded in IMPORTS."""

from __future__ import annotations

import asyncio
from typing import Any

IMPORTS: list[str] = ["imported"]


async def handle(operation: str, input: dict[str, Any], context: dict[str, Any]) -> Any:
    if operation == "upper":
        return {"text": str(input["text"]).upper(), "greeting": context["config"].get("greeting")}
    if operation == "sleep":
        await asyncio.sleep(float(input["seconds"]))
        return {}
    if operation == "fetch":
        return {"body": await context["host_call"]("http.request", {"url": input["url"]})}
    if operation == "not-a-dict":
        return ["x"]
    raise ValueError(f"unknown operation {operation!r}")


def blocking(operation: str, input: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    return {"thread": True, "operation": operation}
