"""The node catalogue: every node type a workflow can use, as ``symphony nodes`` shows it.

Built from the same contributions validation reads (``symphony_instruments``,
``symphony_operators``; installed extensions arrive through them too), plus the
three control nodes.  Who provides a node is answered from the installed
distributions' entry points (``symphony.plugins`` by plugin name,
``symphony.extensions`` by extension name), never by importing anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal

import msgspec

from symphony.hookspecs import InstrumentSpec, OperatorSpec, PortSpec

from .catalogue import CONTROL_SIGNATURES

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

__all__ = ["NodeEntry", "Provider", "distributions_of", "node_entries"]

NodeKind = Literal["instrument", "operator", "control"]

#: What each runtime isolates, in a few words (docs/sandbox-subprocess.md, docs/wasm-extensions.md).
SANDBOXES: Final[Mapping[str, str]] = {
    "in-process": "none: plugin code, trusted when installed",
    "python": "none: in the host's process, trusted extensions only",
    "subprocess": "confined subprocess (Landlock, namespaces, seccomp, rlimits)",
    "wasm": "Wasmtime (no access beyond what is granted)",
}

_CONTROL_DESCRIPTIONS: Final = {
    "branch": "Pass in to out; conditional edges leaving it route the run.",
    "merge": "Collect several in edges: the first value (mode = first) or a list of all (mode = all).",
    "gate": "Pass in to out only when config.when holds on in; otherwise skip what follows.",
}

_CONTROL_CONFIG: Final = {
    "merge": {"mode": PortSpec(type="string", required=False, description="first (default) or all")},
    "gate": {"when": PortSpec(type="string", description="a condition on the input in")},
}


class Provider(msgspec.Struct, frozen=True, kw_only=True):
    """Who offers a node: the plugin, its distribution, and the extension when one contributes it."""

    plugin: str
    distribution: str | None
    version: str | None
    extension: str | None = None


class NodeEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One usable node type; its JSON is the documented shape of ``symphony nodes ... --json``."""

    name: str
    kind: NodeKind
    description: str
    inputs: dict[str, PortSpec]
    outputs: dict[str, PortSpec]
    config: dict[str, PortSpec]
    provider: Provider
    runtime: str
    sandbox: str


def node_entries(
    instruments: Iterable[tuple[str, InstrumentSpec]], operators: Iterable[tuple[str, OperatorSpec]]
) -> list[NodeEntry]:
    """Every node type, sorted by kind (instrument, operator, control) then name."""
    plugins = distributions_of("symphony.plugins")
    extensions = distributions_of("symphony.extensions")
    found = [_entry("instrument", plugin, spec, plugins, extensions) for plugin, spec in instruments]
    found += [_entry("operator", plugin, spec, plugins, extensions) for plugin, spec in operators]
    found.sort(key=lambda entry: (entry.kind, entry.name))
    builtin = plugins.get("workflow", (None, None))
    for name, signature in CONTROL_SIGNATURES.items():
        found.append(
            NodeEntry(
                name=name,
                kind="control",
                description=_CONTROL_DESCRIPTIONS[name],
                inputs=signature.inputs,
                outputs=signature.outputs,
                config=_CONTROL_CONFIG.get(name, {}),
                provider=Provider(plugin="workflow", distribution=builtin[0], version=builtin[1]),
                runtime="in-process",
                sandbox=SANDBOXES["in-process"],
            )
        )
    return found


def _entry(
    kind: Literal["instrument", "operator"],
    plugin: str,
    spec: InstrumentSpec | OperatorSpec,
    plugins: Mapping[str, tuple[str | None, str | None]],
    extensions: Mapping[str, tuple[str | None, str | None]],
) -> NodeEntry:
    if spec.extension is not None:
        distribution, version = extensions.get(spec.extension, (None, None))
    else:
        distribution, version = plugins.get(plugin, (None, None))
    return NodeEntry(
        name=spec.name,
        kind=kind,
        description=spec.description,
        inputs=spec.inputs,
        outputs=spec.outputs,
        config=spec.config,
        provider=Provider(plugin=plugin, distribution=distribution, version=version, extension=spec.extension),
        runtime=spec.runtime,
        sandbox=SANDBOXES.get(spec.runtime, "unknown runtime"),
    )


def distributions_of(group: str) -> dict[str, tuple[str | None, str | None]]:
    """Entry-point name -> (distribution, version); the first on ``sys.path`` wins, as importlib loads it."""
    from importlib.metadata import entry_points  # ~12 ms: only `symphony nodes` needs it

    found: dict[str, tuple[str | None, str | None]] = {}
    for point in entry_points(group=group):
        found.setdefault(point.name, _dist_of(point))
    return found


def _dist_of(point: EntryPoint) -> tuple[str | None, str | None]:
    dist: Any = point.dist
    if dist is None:
        return None, None
    return dist.metadata["Name"], dist.version
