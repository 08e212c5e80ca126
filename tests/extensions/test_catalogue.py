"""Extensions' ``[contributes]`` as workflow node types, and the node that defers to the extension runtime."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from symphony.builtin_plugins.workflow import Catalogue
from symphony.hookspecs import ExtensionId, HealthStatus, PortSpec, PortUnavailableError, hookimpl
from symphony.host import Host
from symphony.host.extensions import list_extensions, node_specs
from symphony.host.extensions._catalogue import signatures

from .helpers import manifest_text, write_extension


def test_signatures_carry_the_manifest_ports_and_name_the_extension(site: Path, tmp_path: Path) -> None:
    write_extension(site, "sig-ext")
    instruments, operators = signatures(list_extensions(tmp_path / "cache").extensions)
    assert instruments == {}
    signature = operators["sig-ext-op"]
    assert signature.provider == "sig-ext"
    assert signature.inputs == {"text": PortSpec(type="string")}
    assert signature.outputs == {"count": PortSpec(type="integer")}


def test_invalid_extensions_contribute_nothing(site: Path, tmp_path: Path) -> None:
    write_extension(site, "broken-ext", manifest_text("broken-ext", "broken_ext").replace('"512MiB"', '"huge"'))
    assert signatures(list_extensions(tmp_path / "cache").extensions) == ({}, {})


def test_node_specs_build_a_catalogue_the_workflow_validator_uses(site: Path, tmp_path: Path) -> None:
    write_extension(site, "cat-ext")
    host = Host(discover_plugins=False).load()
    instruments, operators = node_specs(list_extensions(tmp_path / "cache").extensions, host.context)
    catalogue = Catalogue.from_contributions(operators=[("extensions", spec) for spec in operators])
    assert instruments == []
    assert catalogue.operators["cat-ext-op"].inputs == {"text": PortSpec(type="string")}


def test_node_without_an_extension_runtime_says_which_port_is_missing(site: Path, tmp_path: Path) -> None:
    write_extension(site, "lone-ext")
    host = Host(discover_plugins=False).load()
    (spec,) = node_specs(list_extensions(tmp_path / "cache").extensions, host.context)[1]
    node = spec.factory({})
    with pytest.raises(PortUnavailableError, match="extension_runtime"):
        asyncio.run(node({"text": "hi"}))


class _RecordingRuntime:
    """A minimal ExtensionPort that records what the node asks of it."""

    def __init__(self) -> None:
        self.loaded: list[str] = []
        self.calls: list[tuple[ExtensionId, Any]] = []

    async def load_extension(self, manifest: Any) -> ExtensionId:
        self.loaded.append(manifest.name)
        return ExtensionId(f"id-{manifest.name}")

    async def invoke_extension(self, extension_id: ExtensionId, payload: Any) -> Any:
        self.calls.append((extension_id, payload))
        return {"count": len(payload["input"]["text"])}

    async def unload_extension(self, extension_id: ExtensionId) -> None:
        return None

    async def extension_health(self, extension_id: ExtensionId) -> HealthStatus:
        raise NotImplementedError


def test_node_loads_its_extension_once_then_invokes_its_operation(site: Path, tmp_path: Path) -> None:
    write_extension(site, "run-ext")
    runtime = _RecordingRuntime()

    class Provider:
        @hookimpl
        def symphony_provide_extension_runtime(self, context: Any) -> _RecordingRuntime:
            return runtime

    host = Host(plugins=[Provider()], discover_plugins=False).load()
    (spec,) = node_specs(list_extensions(tmp_path / "cache").extensions, host.context)[1]
    node = spec.factory({"mode": "fast"})

    async def twice() -> list[Any]:
        return [await node({"text": "abc"}), await node({"text": "abcd"})]

    assert asyncio.run(twice()) == [{"count": 3}, {"count": 4}]
    assert runtime.loaded == ["run-ext"]
    assert runtime.calls[0] == (
        ExtensionId("id-run-ext"),
        {"operation": "run-ext-op", "input": {"text": "abc"}, "config": {"mode": "fast"}},
    )
