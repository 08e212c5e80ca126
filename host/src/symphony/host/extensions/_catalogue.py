"""Installed extensions' ``[contributes]`` as workflow node types, without importing their code.

Each contributed instrument or operator becomes an ``InstrumentSpec`` or
``OperatorSpec`` whose ports are the manifest's, so the workflow validator
types them like any plugin's.  The factory does not load the extension: the
returned node asks the ``extension_runtime`` port to load it on first call
(lazy activation) and to invoke it with ``{"operation", "input", "config"}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from symphony.hookspecs import ContributedNode, InstrumentSpec, Manifest, NodeSignature, OperatorSpec
from symphony.hookspecs.ports import HostContext

from ._index import InstalledExtension

__all__ = ["ExtensionNode", "node_specs", "signatures"]


class ExtensionNode:
    """One workflow node backed by an extension, run through the extension runtime port."""

    def __init__(self, context: HostContext, manifest: Manifest, node: ContributedNode, config: Mapping[str, Any]):
        self._context = context
        self.manifest = manifest
        self.operation = node.entry or node.name
        self.config = dict(config)
        self._extension_id: Any = None

    async def __call__(self, inputs: Mapping[str, Any]) -> Any:
        runtime = self._context.port("extension_runtime")
        if self._extension_id is None:
            self._extension_id = await runtime.load_extension(self.manifest)
        payload = {"operation": self.operation, "input": dict(inputs), "config": self.config}
        return await runtime.invoke_extension(self._extension_id, payload)

    def __repr__(self) -> str:
        return f"ExtensionNode({self.manifest.name}:{self.operation})"


def _usable(extensions: Iterable[InstalledExtension]) -> list[Manifest]:
    return [e.manifest for e in extensions if e.manifest is not None and e.status == "ok"]


def node_specs(
    extensions: Iterable[InstalledExtension], context: HostContext
) -> tuple[list[InstrumentSpec], list[OperatorSpec]]:
    """The contributions of every valid extension, ready for ``symphony_instruments``/``symphony_operators``."""
    instruments: list[InstrumentSpec] = []
    operators: list[OperatorSpec] = []
    for manifest in _usable(extensions):
        for node in manifest.contributes.instruments:
            instruments.append(
                InstrumentSpec(
                    name=node.name,
                    description=node.description,
                    factory=_factory(context, manifest, node),
                    inputs=node.inputs,
                    outputs=node.outputs,
                    models=node.models,
                    runtime=manifest.runtime.kind,
                    extension=manifest.name,
                )
            )
        for node in manifest.contributes.operators:
            operators.append(
                OperatorSpec(
                    name=node.name,
                    description=node.description,
                    factory=_factory(context, manifest, node),
                    inputs=node.inputs,
                    outputs=node.outputs,
                    runtime=manifest.runtime.kind,
                    extension=manifest.name,
                )
            )
    return instruments, operators


def _factory(context: HostContext, manifest: Manifest, node: ContributedNode) -> Any:
    def factory(config: Mapping[str, Any]) -> ExtensionNode:
        return ExtensionNode(context, manifest, node, config)

    return factory


def signatures(
    extensions: Iterable[InstalledExtension],
) -> tuple[dict[str, NodeSignature], dict[str, NodeSignature]]:
    """Node signatures by name (instruments, operators) with the extension as provider, for a Catalogue."""
    instruments: dict[str, NodeSignature] = {}
    operators: dict[str, NodeSignature] = {}
    for manifest in _usable(extensions):
        for table, nodes in (
            (instruments, manifest.contributes.instruments),
            (operators, manifest.contributes.operators),
        ):
            for node in nodes:
                table[node.name] = NodeSignature(inputs=node.inputs, outputs=node.outputs, provider=manifest.name)
    return instruments, operators
