"""The Arbitration Engine: who gets scarce resources (slots, memory, models, API budgets) when runs compete.

See docs/arbitration.md for the policy; :class:`ArbitrationEngine` implements ``ArbitrationEnginePort``.
"""

from __future__ import annotations

from .engine import ArbitrationEngine
from .options import ArbitrationOptions, Limits

__all__ = ["ArbitrationEngine", "ArbitrationOptions", "Limits"]
