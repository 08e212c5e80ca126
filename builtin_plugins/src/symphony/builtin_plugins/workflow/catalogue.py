"""What the validator knows about instruments and operators: their typed ports.

Built from plugins' contributions (and, with the extensions work, from
manifests).  Control nodes have fixed signatures defined here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import msgspec

from symphony.hookspecs import InstrumentSpec, NodeSignature, OperatorSpec, PortSpec, WorkflowCheck

__all__ = ["CONTROL_SIGNATURES", "RUN_CONFIG_KEY", "Catalogue"]

#: The config key every node may have, read by the runner rather than the node: its run
#: options (attempts, timeout, cache; docs/runs.md).
RUN_CONFIG_KEY: Final = "run"

_ANY_IN = {"in": PortSpec(type="any", required=False)}
_ANY_OUT = {"out": PortSpec(type="any", required=False)}

#: branch and gate pass ``in`` to ``out``; merge collects several ``in`` edges.
CONTROL_SIGNATURES: dict[str, NodeSignature] = {
    kind: NodeSignature(inputs=_ANY_IN, outputs=_ANY_OUT, provider="symphony") for kind in ("branch", "merge", "gate")
}


class Catalogue(msgspec.Struct, frozen=True, kw_only=True):
    """Signatures by contribution name, per node kind, and where to get the missing ones.

    ``hints`` maps a contribution name to the distribution that provides it
    (known to the registry), so that an unknown one can say what to install.
    ``checks`` are the contributed validation stages (``symphony_workflow_checks``),
    each ``check(workflow) -> list[WorkflowProblem]``, run after the builtin ones.
    """

    instruments: dict[str, NodeSignature] = msgspec.field(default_factory=dict)
    operators: dict[str, NodeSignature] = msgspec.field(default_factory=dict)
    hints: dict[str, str] = msgspec.field(default_factory=dict)
    checks: tuple[Callable[[Any], list[Any]], ...] = ()

    @classmethod
    def from_contributions(
        cls,
        instruments: Iterable[tuple[str, InstrumentSpec]] = (),
        operators: Iterable[tuple[str, OperatorSpec]] = (),
        hints: Mapping[str, str] | None = None,
        checks: Iterable[tuple[str, WorkflowCheck]] = (),
    ) -> Catalogue:
        """From ``(plugin, spec)`` pairs as ``Host.contributions`` gives them."""
        return cls(
            instruments={s.name: _signature(p, s) for p, s in instruments},
            operators={s.name: _signature(p, s) for p, s in operators},
            hints=dict(hints or {}),
            checks=tuple(spec.check for _plugin, spec in checks),
        )


def _signature(plugin: str, spec: InstrumentSpec | OperatorSpec) -> NodeSignature:
    return NodeSignature(inputs=spec.inputs, outputs=spec.outputs, provider=plugin, config=spec.config)
