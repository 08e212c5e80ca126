"""``[components.pool.options]``: how many models stay hot, in how much memory, and how often they are checked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import msgspec

from symphony.hookspecs import ConfigurationError, parse_memory

__all__ = ["PoolOptions"]


def _bytes(value: int | str) -> int:
    """Bytes from ``4294967296``, ``"4GiB"``, ``"512 MB"`` (the SDK's sizes); ValueError saying how otherwise."""
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a size must not be negative, got {value}")
        return value
    return parse_memory(value)


class PoolOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The pool's bounds and timers; the defaults suit a workstation with a few models."""

    #: Hot models at most; the least recently used unheld one is cooled to make room.
    max_hot: Annotated[int, msgspec.Meta(ge=1)] = 8
    #: Measured RSS of all hot models' workers at most (bytes or "4GiB"); None: only max_hot bounds them.
    memory_budget: int | str | None = None
    #: Models warming at once; the others wait in order.
    warm_concurrency: Annotated[int, msgspec.Meta(ge=1)] = 2
    #: Seconds a hot model may stay unused before it cools (a ModelSpec's own idle_timeout wins).
    idle_timeout: Annotated[float, msgspec.Meta(gt=0)] = 300.0
    #: Seconds between health checks (a ping each hot worker must answer within it) and RSS measurements.
    health_interval: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    #: Prewarm a model used often recently when it cools, while the budget allows.
    predict_history: bool = True

    @property
    def budget_bytes(self) -> int | None:
        return None if self.memory_budget is None else _bytes(self.memory_budget)

    def __post_init__(self) -> None:
        if self.memory_budget is not None:
            try:
                _bytes(self.memory_budget)
            except ValueError as error:
                raise ConfigurationError(f"Invalid components.pool.options.memory_budget: {error}.") from None

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> PoolOptions:
        try:
            return msgspec.convert(dict(options), cls)
        except msgspec.ValidationError as error:
            where = str(error).replace("`$.", "`components.pool.options.")
            raise ConfigurationError(f"Invalid pool options in [components.pool.options]: {where}.") from None
