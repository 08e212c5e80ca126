"""The tracer provider an exporter setting asks for; the SDK is imported only here, only when asked."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from symphony.hookspecs import ConfigurationError

from .options import COMPONENT, TelemetryOptions

if TYPE_CHECKING:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import TracerProvider as ApiTracerProvider

__all__ = ["application_provider", "provider_for"]


def provider_for(options: TelemetryOptions) -> TracerProvider:
    """An SDK provider exporting to the console (one line of JSON per span, as it ends) or to OTLP (batched).

    The SDK flushes it when the process exits, so spans of a short command are not lost.
    """
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": options.service_name}))
    if options.exporter == "console":
        console = ConsoleSpanExporter(out=sys.stderr, formatter=lambda span: span.to_json(indent=None) + "\n")
        provider.add_span_processor(SimpleSpanProcessor(console))
    else:
        provider.add_span_processor(BatchSpanProcessor(_otlp(options)))
    return provider


def _otlp(options: TelemetryOptions) -> OTLPSpanExporter:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        raise ConfigurationError(
            f'components.{COMPONENT}.options.exporter = "otlp" needs the OTLP exporter, which is not installed.'
            " Install it with: pip install 'symphony-builtins[otlp]'"
        ) from None
    return OTLPSpanExporter(endpoint=options.otlp_endpoint)


def application_provider() -> ApiTracerProvider | None:
    """The tracer provider the embedding application set up before the host loaded, if any.

    Looked for without importing OpenTelemetry: an application that set one up has imported it.
    """
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    provider = trace.get_tracer_provider()
    return None if isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)) else provider
