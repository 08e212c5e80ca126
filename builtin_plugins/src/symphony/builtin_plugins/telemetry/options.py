"""``[components.telemetry.options]``: which exporter receives the spans."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from symphony.hookspecs import ConfigurationError

__all__ = ["COMPONENT", "TelemetryOptions"]

COMPONENT = "telemetry"


class TelemetryOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Off by default: no tracer provider is set up and the OpenTelemetry SDK is not imported."""

    #: ``none`` (spans go to the application's own tracer provider, if it set one up),
    #: ``console`` (JSON on stderr) or ``otlp`` (OTLP over HTTP to a collector).
    exporter: Literal["none", "console", "otlp"] = "none"
    #: Where ``otlp`` sends spans; unset: ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, else the collector on localhost.
    otlp_endpoint: str | None = None
    #: The ``service.name`` resource attribute of every span.
    service_name: str = "symphony"

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> TelemetryOptions:
        try:
            return msgspec.convert(dict(options), cls)
        except msgspec.ValidationError as error:
            where = str(error).replace("`$.", f"`components.{COMPONENT}.options.")
            raise ConfigurationError(f"Invalid telemetry options: {where}.") from None
