"""symphony_models: the models a plugin contributes are known to the host by name."""

from __future__ import annotations

import pytest

from symphony.hookspecs import ModelId, ModelSpec, ProviderConflictError, hookimpl
from symphony.hookspecs.ports import HostContext

from .conftest import MakeHost


class Models:
    @hookimpl
    def symphony_models(self, context: HostContext) -> list[ModelSpec]:
        return [ModelSpec(name="tiny", loader="tiny_models:load", sharing="exclusive", instances=2)]


class SameName:
    @hookimpl
    def symphony_models(self, context: HostContext) -> list[ModelSpec]:
        return [ModelSpec(name="tiny", loader="other:load")]


def test_symphony_models_of_a_plugin_are_collected_by_name_with_the_plugin(make_host: MakeHost) -> None:
    plugin, spec = make_host(Models()).load().contributions("symphony_models")["tiny"]
    assert plugin == "Models"
    assert (spec.loader, spec.sharing, spec.instances) == ("tiny_models:load", "exclusive", 2)


def test_symphony_models_with_one_name_from_two_plugins_is_a_conflict_naming_both(make_host: MakeHost) -> None:
    host = make_host(Models(), SameName()).load()
    with pytest.raises(ProviderConflictError, match="tiny"):
        host.contributions("symphony_models")


class EchoModel:
    @hookimpl
    def symphony_models(self, context: HostContext) -> list[ModelSpec]:
        return [ModelSpec(name="echo", loader="benchmarks.pool_models:load")]


async def test_symphony_models_of_a_plugin_are_loaded_and_called_by_the_pool(make_host: MakeHost) -> None:
    async with make_host(EchoModel(), discover=True) as host:
        pool = host.port("pool_manager")
        async with pool.use(ModelId("echo")) as handle:
            assert await pool.call(handle, "echo", {"text": "hello"}) == {"text": "hello"}
