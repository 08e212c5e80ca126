"""Plugin ``telemetry``: OpenTelemetry spans for every run, node, invocation and sandbox hop.

Settings: ``[components.telemetry.options]`` (:class:`~.options.TelemetryOptions`).
With the default exporter ``none`` and no tracer provider set up by the
embedding application, nothing is traced and the SDK is never imported: the
wrapper passes each call straight through.  An exporter that cannot be set up
(the OTLP extra missing) is a warning and a failed ``doctor`` check, not a
failed run: tracing must not stop the work it observes.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any

from symphony.hookspecs import (
    ComponentOptionsSpec,
    ConfigurationError,
    Event,
    HealthCheck,
    HealthStatus,
    Invocation,
    hookimpl,
)
from symphony.hookspecs.ports import HostContext

from .exporters import application_provider, provider_for
from .options import COMPONENT, TelemetryOptions
from .tracing import Tracing

SYMPHONY_API = "^1.0"

log = logging.getLogger("symphony.telemetry")

#: The tracing of the host that configured this plugin last (a plugin module is one per process).
_tracing: Tracing | None = None
#: Why the configured exporter is not in use, for ``doctor``.
_problem: str | None = None
_exporter = "none"


@hookimpl
def symphony_component_options() -> list[ComponentOptionsSpec]:
    return [ComponentOptionsSpec(name=COMPONENT, options=TelemetryOptions)]


@hookimpl
def symphony_configure(context: HostContext) -> None:
    global _tracing, _problem, _exporter
    options = TelemetryOptions.from_options(context.component_config(COMPONENT).options)
    _tracing, _problem, _exporter = None, None, options.exporter
    try:
        provider = provider_for(options) if options.exporter != "none" else application_provider()
    except ConfigurationError as error:
        _problem = str(error)
        log.warning("tracing is off: %s", _problem)
        return
    if provider is not None:
        _tracing = Tracing(provider)


@hookimpl
def symphony_health_checks(context: HostContext) -> list[HealthCheck]:
    return [HealthCheck(name="telemetry", check=_health)]


def _health() -> HealthStatus:
    if _problem is not None:
        fix = f"Install what it needs, or set components.{COMPONENT}.options.exporter to console or none."
        return HealthStatus.failed(f"tracing is off: {_problem}", fix=fix)
    if _tracing is None:
        return HealthStatus.ok("tracing off (components.telemetry.options.exporter = none)")
    where = "the application's tracer provider" if _exporter == "none" else f"the {_exporter} exporter"
    return HealthStatus.ok(f"tracing to {where}")


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
