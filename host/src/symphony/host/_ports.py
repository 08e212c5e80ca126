"""The ports a host resolves, and the hook that provides each."""

from __future__ import annotations

from typing import Final

__all__ = ["PORTS"]

#: port name -> provider hook name, in the order doctor lists them.
PORTS: Final[dict[str, str]] = {
    name: f"symphony_provide_{name}"
    for name in (
        "text_editing",
        "pit",
        "pool_manager",
        "dag_tracker",
        "artifact_store",
        "arbitration_engine",
        "stale_manager",
        "extension_runtime",
        "conductor",
        "data_access",
        "pre_validation",
        "message_bus",
    )
}
