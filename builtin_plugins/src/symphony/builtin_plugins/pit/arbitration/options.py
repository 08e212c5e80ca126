"""``[components.arbitration.options]``: capacities, budgets, quotas, weights and the queue's rules.

Checked as the host loads the settings (a typo or an impossible value is a
ConfigurationError naming the key, never a wait that cannot end), then resolved
into :class:`~.limits.Limits`, the plain numbers the engine works with (its own
module, imported when an engine is made: every command loads these options).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Final

import msgspec

from symphony.hookspecs import ConfigurationError, parse_memory

if TYPE_CHECKING:
    from .limits import Budget, Limits

__all__ = ["BUILTIN_RESOURCES", "ArbitrationOptions", "Budget", "BudgetOptions", "Limits", "parse_amount"]

#: Resources every engine knows; the builtins' callers use these names (slots: node slots, memory: bytes,
#: models: warm model instances).
BUILTIN_RESOURCES: Final = ("slots", "memory", "models")
BUDGET_PREFIX: Final = "budget:"

Amount = float | str


class BudgetOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One budget: ``limit`` units may be consumed per ``period`` seconds (a fixed window)."""

    limit: Annotated[float, msgspec.Meta(gt=0)]
    period: Annotated[float, msgspec.Meta(gt=0)] = 60.0


class ArbitrationOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The engine's settings; every field has a default, so an empty table is a working engine."""

    #: Resource name -> total, e.g. ``{slots = 8, memory = "16GiB", gpu = 1}``; slots, memory and models
    #: always exist (defaults: 2 x CPUs, 80% of physical RAM, 256).
    capacity: dict[str, Amount] = msgspec.field(default_factory=dict)
    #: Budget name -> limit per period; requested as ``budget:<name>``, consumed (not returned on release).
    budgets: dict[str, BudgetOptions] = msgspec.field(default_factory=dict)
    #: ``"user:<name>"``, ``"user:*"``, ``"run:<id>"`` or ``"run:*"`` -> the most it may hold at once of each resource.
    quotas: dict[str, dict[str, Amount]] = msgspec.field(default_factory=dict)
    #: User -> fair-share weight (default 1): a user of weight 2 gets twice the share of one of weight 1.
    weights: dict[str, Annotated[float, msgspec.Meta(gt=0)]] = msgspec.field(default_factory=dict)
    #: Seconds a request waits before a TimeoutError when it sets no timeout (none: it waits until granted).
    timeout: Annotated[float, msgspec.Meta(gt=0)] | None = None
    #: A blocked request is reserved for (nothing it needs is given to requests behind it) once this many
    #: grants have passed it...
    reserve_after: Annotated[int, msgspec.Meta(ge=0)] = 16
    #: ...or once it has waited this many seconds.
    reserve_seconds: Annotated[float, msgspec.Meta(ge=0)] = 30.0
    #: How many waiting requests one decision looks at, in queue order, for one that fits (backfilling).
    backfill_depth: Annotated[int, msgspec.Meta(ge=1)] = 32

    def __post_init__(self) -> None:
        # Checked here, so the host refuses a bad value as it loads the settings (naming the key), before any command.
        self.quota_amounts(set(BUILTIN_RESOURCES) | set(self.capacity_amounts()))

    def capacity_amounts(self) -> dict[str, float]:
        """The declared capacities in plain numbers; raises ValueError naming the bad key."""
        amounts: dict[str, float] = {}
        for name, value in self.capacity.items():
            if name.startswith(BUDGET_PREFIX) or not name.strip():
                raise ValueError(
                    f"capacity: {name!r} is not a resource name; declare budgets under `budgets`,"
                    " e.g. budgets = {openai-tokens = {limit = 100000, period = 60}}"
                )
            amounts[name] = parse_amount(value, f"capacity.{name}")
        return amounts

    def quota_amounts(self, known: set[str]) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
        """User quotas and run quotas in plain numbers; raises ValueError naming the bad key."""
        user_quotas: dict[str, dict[str, float]] = {}
        run_quotas: dict[str, dict[str, float]] = {}
        for key, amounts in self.quotas.items():
            kind, _, who = key.partition(":")
            if kind not in ("user", "run") or not who:
                raise ValueError(f"quotas: key {key!r} must be 'user:<name>', 'user:*', 'run:<id>' or 'run:*'")
            parsed: dict[str, float] = {}
            for resource, value in amounts.items():
                if resource not in known:
                    raise ValueError(
                        f"quotas.{key!r}: unknown resource {resource!r};"
                        f" quotas apply to held resources: {', '.join(sorted(known))}"
                    )
                parsed[resource] = parse_amount(value, f"quotas.{key!r}.{resource}")
            (user_quotas if kind == "user" else run_quotas)[who] = parsed
        return user_quotas, run_quotas

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> ArbitrationOptions:
        try:
            return msgspec.convert(dict(options), cls)
        except msgspec.ValidationError as error:
            where = str(error).replace("`$.", "`components.arbitration.options.")
            raise ConfigurationError(
                f"Invalid arbitration options in [components.arbitration.options]: {where}."
            ) from None


#: Nodes running at once across every run of a host, by default: four runs at the DAG tracker's default
#: width (16).  Most nodes wait on I/O (model APIs, HTTP), so a per-CPU default would throttle them for
#: nothing; CPU-heavy nodes ask for more slots (``config.run.resources``) or a deployment lowers it.
DEFAULT_SLOTS: Final = 64.0


def default_capacity() -> dict[str, float]:
    """slots = 64, memory = 80% of physical RAM, models = 256."""
    import psutil

    return {
        "slots": DEFAULT_SLOTS,
        "memory": float(int(psutil.virtual_memory().total * 0.8)),
        "models": 256.0,
    }


def parse_amount(value: Amount, where: str) -> float:
    """A non-negative finite number, or a size such as ``"4GiB"`` / ``"512MB"`` in bytes."""
    if isinstance(value, str):
        try:
            number = float(parse_memory(value))
        except ValueError as error:
            raise ValueError(f"{where}: {value!r} is not an amount: {error}") from None
    else:
        number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{where}: {value!r} must be a finite amount >= 0")
    return number


def __getattr__(name: str) -> Any:
    """``Budget`` and ``Limits``, from their module on first use (where they were defined before)."""
    if name in ("Budget", "Limits"):
        from . import limits

        return getattr(limits, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
