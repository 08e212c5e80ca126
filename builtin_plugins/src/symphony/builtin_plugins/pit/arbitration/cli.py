"""``symphony arbitration status [--json]``: capacities, budgets, quotas, holders and waiting requests.

The engine lives in the process that runs the work, so this shows this process's
engine: from a fresh command, the configured capacities and budgets with nothing
held, which is how to check what ``[components.arbitration.options]`` resolves to.
"""

from __future__ import annotations

from collections.abc import Callable

import click
import msgspec

from symphony.hookspecs import PortUnavailableError

from ..dag.history import echo_json
from .engine import ArbitrationEngine
from .explain import amount
from .status import Status

__all__ = ["arbitration_commands"]


def _lines(status: Status) -> list[str]:
    rows = [("resource", "total", "free")]
    rows += [
        (name, amount(name, total), amount(name, status.free[name]))
        for name, total in status.capacity.items()
        if name not in status.budgets
    ]
    rows += [
        (name, f"{b.limit:g} per {b.period:g} s", f"{b.left:g} (refills in {b.refills_in:.1f} s)")
        for name, b in status.budgets.items()
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(2)]
    lines = [f"{row[0].ljust(widths[0])}  {row[1].ljust(widths[1])}  {row[2]}" for row in rows]
    for key, quota in status.quotas.items():
        lines.append(f"quota {key}: " + ", ".join(f"{n}={amount(n, v)}" for n, v in quota.items()))
    if status.weights:
        lines.append("weights: " + ", ".join(f"{user}={weight:g}" for user, weight in status.weights.items()))
    lines.append(f"holders: {len(status.holders)}")
    lines += [
        f"  {h.requester}: " + ", ".join(f"{n}={amount(n, v)}" for n, v in h.resources.items()) for h in status.holders
    ]
    lines.append(f"waiting: {len(status.waiting)}")
    lines += [f"  {w.requester} ({w.waited:.1f} s): {w.reason}" for w in status.waiting]
    return lines


def arbitration_commands(engine: Callable[[], object]) -> click.Group:
    @click.group(name="arbitration")
    def group() -> None:
        """The arbitration engine: who gets slots, memory, models and API budgets (docs/arbitration.md)."""

    @group.command()
    @click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
    def status(as_json: bool) -> None:
        """Capacities, budgets, quotas, and this process's holders and waiting requests."""
        port = engine()
        if not isinstance(port, ArbitrationEngine):
            raise PortUnavailableError(
                "`symphony arbitration status` reads the builtin arbitration engine (plugin 'arbitration'), but port"
                f" 'arbitration_engine' is served by {type(port).__name__}; unset ports.arbitration_engine to use it."
            )
        current = port.status()
        if as_json:
            echo_json(msgspec.to_builtins(current))
            return
        for line in _lines(current):
            click.echo(line)

    return group
