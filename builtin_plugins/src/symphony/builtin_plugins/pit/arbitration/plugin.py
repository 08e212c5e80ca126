"""Registers the Arbitration Engine as the ``arbitration_engine`` port, with a health check of its counters.

Settings: ``[components.arbitration.options]`` (:class:`~.options.ArbitrationOptions`).
The engine is imported when the port is first asked for, so loading the plugin
costs only its options.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from symphony.hookspecs import ComponentOptionsSpec, HealthCheck, HealthStatus, hookimpl
from symphony.hookspecs.ports import HostContext

from .options import ArbitrationOptions

if TYPE_CHECKING:
    import click

    from .engine import ArbitrationEngine

SYMPHONY_API = "^1.0"
COMPONENT = "arbitration"


@hookimpl
def symphony_component_options() -> list[ComponentOptionsSpec]:
    return [ComponentOptionsSpec(name=COMPONENT, options=ArbitrationOptions)]


@hookimpl(trylast=True)
def symphony_provide_arbitration_engine(context: HostContext) -> ArbitrationEngine:
    from .engine import ArbitrationEngine
    from .limits import Limits

    options = ArbitrationOptions.from_options(context.component_config(COMPONENT).options)
    return ArbitrationEngine(Limits.of(options), emit=context.emit)


@hookimpl
def symphony_register_commands(cli: Any, context: HostContext) -> None:
    from symphony.hookspecs.commands import lazy_command

    def commands() -> click.Command:
        from .cli import arbitration_commands

        return arbitration_commands(lambda: context.port("arbitration_engine"))

    help_ = "The arbitration engine: who gets slots, memory, models and API budgets (docs/arbitration.md)."
    cli.add_command(lazy_command("arbitration", commands, help=help_))


@hookimpl
def symphony_health_checks(context: HostContext) -> list[HealthCheck]:
    def check() -> HealthStatus:
        from .engine import ArbitrationEngine

        engine = context.port("arbitration_engine")
        if not isinstance(engine, ArbitrationEngine):  # another provider's: its counters are its own
            return HealthStatus.ok(f"served by plugin {context.port_provider('arbitration_engine')!r}")
        metrics = engine.metrics
        status = engine.status()
        return HealthStatus.ok(
            f"{len(status.holders)} grant(s) held, {len(status.waiting)} waiting",
            capacity=status.capacity,
            free=status.free,
            waiting=len(status.waiting),
            grants=metrics.grants,
            waits=metrics.waits,
            timeouts=metrics.timeouts,
            cancellations=metrics.cancellations,
            preemptions=metrics.preemptions,
            wait_seconds=round(metrics.wait_seconds, 6),
            max_wait=round(metrics.max_wait, 6),
        )

    return [HealthCheck(name="arbitration", check=check)]
