"""The engine's limits in plain numbers, resolved from :class:`~.options.ArbitrationOptions`.

Apart from the options because dataclasses (their import and the code each one
compiles, ~3 ms) are needed only when an engine is made, and every command loads the options.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .options import BUDGET_PREFIX, ArbitrationOptions, default_capacity

__all__ = ["Budget", "Limits"]


@dataclass(frozen=True, slots=True)
class Budget:
    """A budget as the engine counts it: ``limit`` per fixed window of ``period`` seconds."""

    limit: float
    period: float


@dataclass(frozen=True, slots=True)
class Limits:
    """Validated numbers: what exists (capacity, budgets), who may hold how much (quotas), and the queue's rules."""

    capacity: dict[str, float]
    budgets: dict[str, Budget] = field(default_factory=dict)
    user_quotas: dict[str, dict[str, float]] = field(default_factory=dict)
    run_quotas: dict[str, dict[str, float]] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    timeout: float | None = None
    reserve_after: int = 16
    reserve_seconds: float = 30.0
    backfill_depth: int = 32

    @classmethod
    def of(cls, options: ArbitrationOptions) -> Limits:
        """Resolve sizes and defaults (the options were checked when they were made)."""
        capacity = {**default_capacity(), **options.capacity_amounts()}
        user_quotas, run_quotas = options.quota_amounts(set(capacity))
        return cls(
            capacity=capacity,
            budgets={f"{BUDGET_PREFIX}{name}": Budget(b.limit, b.period) for name, b in options.budgets.items()},
            user_quotas=user_quotas,
            run_quotas=run_quotas,
            weights=dict(options.weights),
            timeout=options.timeout,
            reserve_after=options.reserve_after,
            reserve_seconds=options.reserve_seconds,
            backfill_depth=options.backfill_depth,
        )
