"""Plugin ``telemetry``: OpenTelemetry spans for every run, node, invocation and sandbox hop.

Settings: ``[components.telemetry.options]`` (:class:`~.options.TelemetryOptions`).
With the default exporter ``none`` and no tracer provider set up by the
embedding application, nothing is traced and the SDK is never imported: the
wrapper passes each call straight through.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from symphony.hookspecs import ComponentOptionsSpec, Event, Invocation, hookimpl
from symphony.hookspecs.ports import HostContext

from .exporters import application_provider, provider_for
from .options import COMPONENT, TelemetryOptions
from .tracing import Tracing

SYMPHONY_API = "^1.0"

#: The tracing of the host that configured this plugin last (a plugin module is one per process).
_tracing: Tracing | None = None


@hookimpl
def symphony_component_options() -> list[ComponentOptionsSpec]:
    return [ComponentOptionsSpec(name=COMPONENT, options=TelemetryOptions)]


@hookimpl
def symphony_configure(context: HostContext) -> None:
    global _tracing
    options = TelemetryOptions.from_options(context.component_config(COMPONENT).options)
    provider = provider_for(options) if options.exporter != "none" else application_provider()
    _tracing = Tracing(provider) if provider is not None else None


@hookimpl
def symphony_event(event: Event) -> None:
    if _tracing is not None:
        _tracing.observe(event)


@hookimpl(wrapper=True)
def symphony_invoke(invocation: Invocation) -> Generator[None, Any, Any]:
    if _tracing is None:
        return (yield)
    return (yield from _tracing.around(invocation))


@hookimpl
def symphony_shutdown() -> None:
    if _tracing is not None:
        _tracing.flush()
