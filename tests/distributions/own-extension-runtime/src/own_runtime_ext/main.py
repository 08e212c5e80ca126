"""What the sandbox's worker would run; the recording runtime answers instead."""

from __future__ import annotations

from typing import Any


def run(operation: str, input: dict[str, Any]) -> dict[str, Any]:
    return {"value": {"ran_in": "sandbox", "operation": operation, "input": input}}
