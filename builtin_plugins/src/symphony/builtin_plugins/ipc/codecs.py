"""JSON and MessagePack codecs for the message envelope, built once and reused."""

from __future__ import annotations

from typing import Any

import msgspec

from symphony.hookspecs import CodecSpec, HealthCheck, HealthStatus, MessageEnvelope, RequestPayload, hookimpl
from symphony.hookspecs.ports import HostContext

SYMPHONY_API = "^1.0"

_json_decoder = msgspec.json.Decoder(MessageEnvelope)
_msgpack_decoder = msgspec.msgpack.Decoder(MessageEnvelope)
_json_encoder = msgspec.json.Encoder()
_msgpack_encoder = msgspec.msgpack.Encoder()

CODECS = (
    CodecSpec(
        name="msgpack",
        content_type="application/msgpack",
        encode=_msgpack_encoder.encode,
        decode=_msgpack_decoder.decode,
        description="MessagePack: the default; compact and fastest.",
    ),
    CodecSpec(
        name="json",
        content_type="application/json",
        encode=_json_encoder.encode,
        decode=_json_decoder.decode,
        description="JSON: for debugging and peers without MessagePack.",
    ),
)


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
