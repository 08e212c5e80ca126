"""The ``models`` stale source: hot models no handle holds, unused for longer than their idle timeout.

Read through the pool manager port alone: ``status()`` gives each model's state,
handles and last use; ``unload`` cools one.  The timeout is the model's
``ModelSpec.idle_timeout``, else the pool's ``idle_timeout`` setting.  The pool cools
idle models itself; this source catches those it has not yet, and makes them visible
in ``symphony stale report``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Final

from symphony.hookspecs import ModelId, PortUnavailableError, StaleItem, StaleSource
from symphony.hookspecs.ports import HostContext, PoolManagerPort, PoolStatus, port_as

from .options import PoolOptions

__all__ = ["find_models", "models_source"]

SOURCE: Final = "models"


def find_models(status: PoolStatus, timeouts: Mapping[str, float], default: float, now: float) -> list[StaleItem]:
    """Hot, unheld models whose last use is longer ago than their timeout."""
    items = []
    for model in status.models:
        timeout = timeouts.get(model.model_id, default)
        if model.state != "hot" or model.handles or model.last_used is None or now - model.last_used <= timeout:
            continue
        items.append(
            StaleItem(
                source=SOURCE,
                kind="model",
                key=model.model_id,
                reason=f"hot and unused for {now - model.last_used:.0f} s, past its idle timeout of {timeout:g} s",
                detail={"rss": model.rss, "instances": model.instances, "last_used": model.last_used},
            )
        )
    return items


def models_source(context: HostContext, clock: Callable[[], float] = time.time) -> StaleSource:
    """``models``: idle hot models, cooled with ``unload``; ``clock`` is the Unix time now."""

    def pool() -> PoolManagerPort | None:
        try:
            found: PoolManagerPort = port_as(context, "pool_manager", PoolManagerPort, user="The models stale source")
        except PortUnavailableError:
            return None
        return found

    def find_now(port: PoolManagerPort) -> list[StaleItem]:
        default = PoolOptions.from_options(context.component_config("pool").options).idle_timeout
        timeouts = {
            name: spec.idle_timeout
            for name, (_plugin, spec) in context.contributions("symphony_models").items()
            if spec.idle_timeout is not None
        }
        return find_models(port.status(), timeouts, default, clock())

    def find() -> list[StaleItem]:
        port = pool()
        return [] if port is None else find_now(port)

    async def reclaim(items: list[StaleItem]) -> list[StaleItem]:
        port = pool()
        if port is None:
            return []
        wanted = {item.key for item in items if item.source == SOURCE}
        still = [item for item in find_now(port) if item.key in wanted]
        for item in still:
            await port.unload(ModelId(item.key))
        return still

    return StaleSource(name=SOURCE, description="hot models idle past their timeout", find=find, reclaim=reclaim)
