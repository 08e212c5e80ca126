"""The envelope codecs (the SDK's :mod:`symphony.hookspecs.wire.codecs`) as contributions, with their health check."""

from __future__ import annotations

from typing import Any

from symphony.hookspecs import CodecSpec, HealthCheck, HealthStatus, MessageEnvelope, RequestPayload, hookimpl
from symphony.hookspecs.ports import HostContext
from symphony.hookspecs.wire.codecs import CODECS

SYMPHONY_API = "^1.0"

__all__ = ["CODECS", "symphony_codecs", "symphony_health_checks"]


@hookimpl
def symphony_codecs(context: HostContext) -> list[CodecSpec]:
    return list(CODECS)


def _round_trip() -> HealthStatus:
    probe = MessageEnvelope.create(RequestPayload(method="ping"), sender="doctor", recipient="doctor")
    broken: list[Any] = [c.name for c in CODECS if c.decode(c.encode(probe)) != probe]
    if broken:
        return HealthStatus.failed(f"codec(s) {', '.join(broken)} do not round-trip an envelope")
    return HealthStatus.ok(f"{len(CODECS)} codecs round-trip envelopes", codecs=[c.name for c in CODECS])


@hookimpl
def symphony_health_checks(context: HostContext) -> list[HealthCheck]:
    return [HealthCheck(name="codecs", check=_round_trip)]
