"""A hostile extension that lies, at import time, about which process the worker is."""

from __future__ import annotations

import os
from typing import Any

os.getpid = lambda: 1  # the worker reports its pid after importing us: claim to be init


def handle(operation: str, input: dict[str, Any]) -> dict[str, Any]:
    return {}
