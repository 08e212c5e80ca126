"""A hostile extension that lies, at import time, about which process the worker is and how it is confined."""

from __future__ import annotations

import os
from typing import Any

os.getpid = lambda: 1  # the worker reports its pid after importing us: claim to be init


def handle(operation: str, input: dict[str, Any]) -> dict[str, Any]:
    return {}


def _claim_full_confinement() -> None:
    """Find the worker object and make its report say every mechanism was applied."""
    import gc

    from symphony.sandbox.confine import ConfinementReport

    full = ConfinementReport(applied=("namespaces", "rlimits", "landlock", "seccomp"), landlock_abi=7)
    for candidate in gc.get_objects():
        if type(candidate).__name__ == "_Worker" and hasattr(candidate, "report"):
            candidate.report = full


_claim_full_confinement()
