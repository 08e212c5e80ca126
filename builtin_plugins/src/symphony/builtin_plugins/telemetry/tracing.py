"""Spans for runs and nodes (from the tracker's events) and for each invocation (from ``symphony_invoke``).

A run's span is the root of its trace; each node that runs gets a span under
it, each attempt of the node an invocation span under that, and a call into an
extension's runtime (the sandbox hop) a span under the invocation that made
it.  Run and node spans are found by run and node id, not by the current
context, because the tracker emits their events from whichever task notices.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any, Final

from symphony.hookspecs import Event, Invocation

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider

__all__ = ["Tracing"]

_SCOPE: Final = "symphony.builtin_plugins.telemetry"
_NODE_END: Final = frozenset({"node.succeeded", "node.failed", "node.cancelled"})
_RUN_END: Final = frozenset({"run.succeeded", "run.failed", "run.cancelled"})


class Tracing:
    """One host's tracer and the spans of its runs and nodes still open."""

    def __init__(self, provider: TracerProvider) -> None:
        from opentelemetry import trace

        self.provider = provider
        self._trace = trace
        self._tracer: Tracer = provider.get_tracer(_SCOPE)
        self._runs: dict[str, Span] = {}
        self._nodes: dict[tuple[str, str], Span] = {}

    # -- runs and nodes, from the tracker's events -----------------------------------------

    def observe(self, event: Event) -> None:
        data: Mapping[str, Any] = event.data
        run_id = data.get("run_id")
        if not isinstance(run_id, str):
            return
        topic = event.topic
        if topic in ("run.started", "run.resumed"):
            workflow = data.get("workflow")
            attributes: dict[str, Any] = {"symphony.run.id": run_id, "symphony.run.resumed": topic == "run.resumed"}
            if workflow is not None:
                attributes["symphony.workflow.id"] = str(workflow)
            name = f"run {workflow}" if workflow is not None else "run"
            self._runs[run_id] = self._tracer.start_span(name, attributes=attributes)
        elif topic == "node.running" and data.get("attempt") == 1:
            node_id = str(data.get("node"))
            parent = self._runs.get(run_id)
            context = self._trace.set_span_in_context(parent) if parent is not None else None
            ids = {"symphony.run.id": run_id, "symphony.node.id": node_id}
            self._nodes[run_id, node_id] = self._tracer.start_span(f"node {node_id}", context, attributes=ids)
        elif topic == "node.retrying":
            span = self._nodes.get((run_id, str(data.get("node"))))
            if span is not None:
                span.add_event(
                    "retrying", {"symphony.attempt": int(data.get("attempt", 0)), "delay": data.get("delay", 0.0)}
                )
        elif topic in _NODE_END:
            span = self._nodes.pop((run_id, str(data.get("node"))), None)
            if span is not None:
                self._end(span, topic, data)
        elif topic in _RUN_END:
            for key in [key for key in self._nodes if key[0] == run_id]:
                self._end(self._nodes.pop(key), "node.cancelled", {})
            span = self._runs.pop(run_id, None)
            if span is not None:
                self._end(span, topic, data)

    def _end(self, span: Span, topic: str, data: Mapping[str, Any]) -> None:
        state = topic.partition(".")[2]
        span.set_attribute("symphony.state", state)
        attempts = data.get("attempt", data.get("attempts"))  # a failure names the last attempt and the most allowed
        if attempts is not None:
            span.set_attribute("symphony.node.attempts", int(attempts))
        if state != "succeeded":
            message = data.get("message") or data.get("error") or f"{state}"
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, str(message)))
        span.end()

    # -- invocations, from symphony_invoke ----------------------------------------------------

    def around(self, invocation: Invocation) -> Generator[None, Any, Any]:
        """A span over the invocation, current while it runs (so its sandbox hop nests under it)."""
        trace = self._trace
        context = None
        if invocation.parent is None and invocation.run_id is not None and invocation.node_id is not None:
            node = self._nodes.get((invocation.run_id, invocation.node_id)) or self._runs.get(invocation.run_id)
            if node is not None:
                context = trace.set_span_in_context(node)
        hop = invocation.kind == "extension"
        name = f"sandbox {invocation.target}" if hop else f"invoke {invocation.target}"
        kind = trace.SpanKind.CLIENT if hop else trace.SpanKind.INTERNAL
        with self._tracer.start_as_current_span(name, context, kind, attributes=_attributes(invocation)):
            return (yield)

    def flush(self) -> None:
        force_flush = getattr(self.provider, "force_flush", None)
        if force_flush is not None:
            force_flush()


def _attributes(invocation: Invocation) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "symphony.contribution": invocation.target,
        "symphony.contribution.kind": invocation.kind,
        "symphony.plugin": invocation.plugin,
        "symphony.runtime": invocation.runtime,
    }
    for key, value in (
        ("symphony.run.id", invocation.run_id),
        ("symphony.node.id", invocation.node_id),
        ("symphony.extension", invocation.extension),
    ):
        if value is not None:
            attributes[key] = value
    for key, value in invocation.attributes.items():
        if isinstance(value, str | bool | int | float):
            attributes[key] = value
    return attributes
