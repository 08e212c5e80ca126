"""Registers the pool as the ``pool_manager`` port (trylast: any other provider wins), and ``symphony pool``.

Every command loads this plugin and few use the pool, so the pool (and psutil
and the wire code under it) is imported when the port is first asked for.  The
``pool`` component closes the pool this host created, if it created one, when
the host stops: no worker outlives its host (they also die with it by
PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import atexit
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from symphony.hookspecs import (
    ComponentOptionsSpec,
    HealthStatus,
    PortUnavailableError,
    Problem,
    StaleSource,
    hookimpl,
)
from symphony.hookspecs.ports import ArbitrationEnginePort, HostContext, PoolManagerPort, port_as

from .options import PoolOptions

if TYPE_CHECKING:
    import click

    from .pool import Pool

SYMPHONY_API = "^1.0"
COMPONENT = "pool"

#: The pool each host created (a host that never asked for the port has none to close).
_POOLS: weakref.WeakKeyDictionary[HostContext, Pool] = weakref.WeakKeyDictionary()


def snapshot_path(context: HostContext) -> Path:
    return context.data_dir / "pool" / "status.json"


@hookimpl
def symphony_component_options() -> list[ComponentOptionsSpec]:
    return [ComponentOptionsSpec(name=COMPONENT, options=PoolOptions)]


@hookimpl(trylast=True)
def symphony_provide_pool_manager(context: HostContext) -> Pool:
    from .pool import Pool
    from .snapshot import SnapshotWriter

    options = PoolOptions.from_options(context.component_config(COMPONENT).options)
    specs = {name: spec for name, (_plugin, spec) in context.contributions("symphony_models").items()}

    def arbitration() -> ArbitrationEnginePort | None:
        try:
            context.port("arbitration_engine")
        except PortUnavailableError:
            return None
        engine: ArbitrationEnginePort = port_as(
            context, "arbitration_engine", ArbitrationEnginePort, user="The pool manager"
        )
        return engine

    pool = Pool(specs, options, emit=context.emit, arbitration=arbitration)
    pool.snapshot = SnapshotWriter(snapshot_path(context), pool.status)
    # A one-shot command (``symphony run``) never stops the host: its pool's last counters are written at exit.
    atexit.register(_write_last_snapshot, weakref.ref(pool))
    _POOLS[context] = pool
    return pool


class PoolLifecycle:
    """Closes this host's pool (unloading every model, stopping every worker) when the host stops.

    Its health check (``symphony doctor``) says how many models are hot, their RSS, worker deaths,
    and which models failed to warm.
    """

    name = COMPONENT
    depends_on: tuple[str, ...] = ()

    def __init__(self, context: HostContext) -> None:
        self._context = context

    async def start(self) -> None:
        """Nothing to start: the pool is made when the port is first asked for, and models warm on demand."""

    async def stop(self) -> None:
        pool = _POOLS.pop(self._context, None)
        if pool is not None:
            await pool.close()

    async def health_check(self) -> HealthStatus:
        return _health(self._context)


def _health(context: HostContext) -> HealthStatus:
    pool = _POOLS.get(context)
    if pool is None:
        return HealthStatus.ok("no model used by this host yet")
    status = pool.status()
    hot = [m for m in status.models if m.state == "hot"]
    failed = [m for m in status.models if m.state == "cold" and m.error]
    rss = sum(m.rss for m in hot)
    summary = (
        f"{len(hot)} hot of {len(status.models)} model(s), {rss / 2**20:.1f} MiB, {status.failures} worker death(s)"
    )
    if failed:
        names = ", ".join(f"{m.model_id} ({m.error})" for m in failed)
        message = f"{summary}; failed to warm: {names}"
        fix = "See why with `symphony pool warm MODEL`."
        return HealthStatus(
            status="degraded", message=message, problems=(Problem(message=message, fix=fix, severity="warning"),)
        )
    return HealthStatus.ok(summary, hot=len(hot), rss=rss, failures=status.failures)


@hookimpl
def symphony_components(context: HostContext) -> list[PoolLifecycle]:
    return [PoolLifecycle(context)]


@hookimpl
def symphony_stale_sources(context: HostContext) -> list[StaleSource]:
    from .stale import models_source

    return [models_source(context)]


@hookimpl
def symphony_register_commands(cli: Any, context: HostContext) -> None:
    from symphony.hookspecs.commands import lazy_command

    def port() -> PoolManagerPort:
        pool: PoolManagerPort = port_as(context, "pool_manager", PoolManagerPort, user="`symphony pool`")
        return pool

    def commands() -> click.Command:
        from .cli import pool_commands

        return pool_commands(port, lambda: snapshot_path(context))

    help_ = "Models the pool keeps warm: their state, a load check, and cooling one."
    cli.add_command(lazy_command("pool", commands, help=help_))


def _write_last_snapshot(pool: weakref.ref[Pool]) -> None:
    alive = pool()
    if alive is not None:
        alive.write_last_snapshot()
