"""``wait``: say so on standard error (the worker's log), then hold the worker until the host stops it."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any


def handle(operation: str, input: Mapping[str, Any]) -> dict[str, Any]:
    print("waiting", file=sys.stderr, flush=True)
    time.sleep(3600)
    return {"value": input.get("value")}
