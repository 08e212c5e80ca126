"""A model with a real load cost and an instrument that uses it through the pool; a plugin for subprocess runs.

The model is benchmarks/pool_models.py's fake-cost one (its worker sleeps ``load_seconds``
and holds touched memory, as loading weights does).  The instrument reports the model's
state when its call began, so a test can see whether the lookahead had warmed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from symphony.hookspecs import InstrumentSpec, ModelId, ModelSpec, PortSpec, hookimpl
from symphony.hookspecs.ports import HostContext

SYMPHONY_API = "^1.0"
MODEL = ModelId("slow-load")
LOAD_SECONDS = 1.0


@hookimpl
def symphony_models(context: HostContext) -> list[ModelSpec]:
    return [
        ModelSpec(
            name=MODEL,
            loader="benchmarks.pool_models:load",
            config={"load_seconds": LOAD_SECONDS, "megabytes": 8},
        )
    ]


@hookimpl
def symphony_instruments(context: HostContext) -> list[InstrumentSpec]:
    def factory(config: Mapping[str, Any]) -> Any:
        async def call(inputs: Mapping[str, Any]) -> dict[str, Any]:
            pool = context.port("pool_manager")
            found = await pool.state(MODEL)
            async with pool.use(MODEL) as handle:
                value = await pool.call(handle, "echo", inputs.get("value"))
            return {"value": value, "state": found}

        return call

    return [
        InstrumentSpec(
            name="test-modelled",
            models=(MODEL,),
            factory=factory,
            inputs={"value": PortSpec(type="any", required=False)},
            outputs={"value": PortSpec(type="any"), "state": PortSpec(type="string")},
        )
    ]
