"""The Arbitration Engine: who gets scarce resources (slots, memory, models, API budgets) when runs compete.

See docs/arbitration.md for the policy; :class:`ArbitrationEngine` implements ``ArbitrationEnginePort``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .options import ArbitrationOptions

if TYPE_CHECKING:
    from .engine import ArbitrationEngine
    from .limits import Limits


def __getattr__(name: str) -> Any:
    """The engine and its limits on first use: every command loads the arbitration plugin, few run anything."""
    if name == "ArbitrationEngine":
        from .engine import ArbitrationEngine

        return ArbitrationEngine
    if name == "Limits":
        from .limits import Limits

        return Limits
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ArbitrationEngine", "ArbitrationOptions", "Limits"]
