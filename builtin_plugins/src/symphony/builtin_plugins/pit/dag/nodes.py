"""What a node does: the contribution its ``uses`` names, or a control node's routing.

:class:`Implementations` is the one seam through which node implementations are
found: a mapping from ``uses`` to the contribution, built from the installed
plugins' ``symphony_operators`` and ``symphony_instruments``.  Extension-provided
nodes are added to the same mapping.  Its ``invoke`` is how a run makes each
node call: the host's ``HostContext.invoke``, so ``symphony_invoke`` wrappers
(tracing, audit, metrics) see every one.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from symphony.hookspecs import (
    ControlNode,
    InstrumentSpec,
    Invocation,
    Node,
    OperatorSpec,
    SymphonyError,
    ValidationError,
    WorkflowCheck,
)

from ...workflow.catalogue import Catalogue
from ...workflow.conditions import parse_condition

__all__ = ["Implementations", "Invoke", "call_directly", "control_outputs"]

Spec = OperatorSpec | InstrumentSpec
Invoke = Callable[[Invocation], Awaitable[Any]]


async def call_directly(invocation: Invocation) -> Any:
    """Make the call with no wrapper around it: a tracker built from bare specs has no host to ask."""
    result = invocation.call(invocation.inputs)
    return await result if inspect.isawaitable(result) else result


@dataclass(frozen=True)
class Implementations:
    """Contributions by name, per node kind, each with the plugin that made it."""

    operators: Mapping[str, tuple[str, OperatorSpec]] = field(default_factory=dict)
    instruments: Mapping[str, tuple[str, InstrumentSpec]] = field(default_factory=dict)
    #: Contributed validation stages (``symphony_workflow_checks``), e.g. permissions.
    checks: Mapping[str, tuple[str, WorkflowCheck]] = field(default_factory=dict)
    #: Runs each node call: ``HostContext.invoke`` under a host.
    invoke: Invoke = call_directly

    @classmethod
    def of(cls, operators: Iterable[OperatorSpec] = (), instruments: Iterable[InstrumentSpec] = ()) -> Implementations:
        """From bare specs (tests, benchmarks, embedding): the provider is recorded as ``local``."""
        return cls(
            operators={spec.name: ("local", spec) for spec in operators},
            instruments={spec.name: ("local", spec) for spec in instruments},
        )

    def catalogue(self) -> Catalogue:
        """The validator's view of the same contributions."""
        return Catalogue.from_contributions(
            instruments=self.instruments.values(), operators=self.operators.values(), checks=self.checks.values()
        )

    def resolve(self, node_id: str, node: Node) -> Spec:
        """The contribution behind an instrument or operator node."""
        return self.provided(node_id, node)[1]

    def provided(self, node_id: str, node: Node) -> tuple[str, Spec]:
        """The plugin that contributes an instrument or operator node's implementation, and the contribution."""
        kind = node.__struct_config__.tag
        table: Mapping[str, tuple[str, Any]] = self.instruments if kind == "instrument" else self.operators
        found = table.get(node.uses)  # type: ignore[union-attr]
        if found is None:
            have = ", ".join(sorted(table)) or "none installed"
            raise ValidationError(
                f"Node {node_id!r} uses {kind} {node.uses!r}, which no installed plugin provides"  # type: ignore[union-attr]
                f" (available: {have})."
            )
        provided: tuple[str, Spec] = found
        return provided

    def build(self, node_id: str, node: Node, config: Mapping[str, Any]) -> Any:
        """The node's callable: ``factory(config)``; a bad config names the node."""
        spec = self.resolve(node_id, node)
        try:
            return spec.factory(config)
        except SymphonyError as error:
            raise ValidationError(f"Node {node_id!r} ({spec.name}): {error}") from None
        except Exception as error:
            raise ValidationError(
                f"Node {node_id!r} ({spec.name}): its factory failed: {type(error).__name__}: {error}"
            ) from None


def control_outputs(node: ControlNode, inputs: Mapping[str, Any]) -> dict[str, Any] | None:
    """A control node's outputs, or None for a gate that stays shut (its downstream is skipped)."""
    value = inputs.get("in")
    if node.control == "gate" and not parse_condition(str(node.config["when"])).evaluate({"in": value}):
        return None
    return {"out": value}
