"""JSON and MessagePack codecs for the message envelope, built once and reused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import msgspec

from symphony.hookspecs import (
    MAX_DEPTH,
    CodecSpec,
    HealthCheck,
    HealthStatus,
    MessageEnvelope,
    RequestPayload,
    decode_bounded,
    hookimpl,
)
from symphony.hookspecs.ports import HostContext

SYMPHONY_API = "^1.0"

_json_encoder = msgspec.json.Encoder()
_msgpack_encoder = msgspec.msgpack.Encoder()
#: The bytes that can open a container (a superset: they also occur inside values).
_JSON_OPENERS: Final = b"[{"
_MSGPACK_OPENERS: Final = bytes(range(0x80, 0xA0)) + bytes(range(0xDC, 0xE0))  # fixmap, fixarray, array/map 16/32


def _bounded(plain: Callable[[bytes], Any], openers: bytes) -> Callable[[bytes], Any]:
    """``plain`` (a decoder's ``decode``) bounded in nesting depth; too deep is a DecodeError, as malformed is.

    Every container starts with one of ``openers``, so a frame holding no more of
    them than the limit cannot be too deep: the common envelope skips the walk.
    """

    def decode(frame: bytes) -> Any:
        if len(frame) - len(frame.translate(None, openers)) <= MAX_DEPTH:
            return plain(frame)
        return decode_bounded(lambda: plain(frame), what="The envelope", error=msgspec.DecodeError)

    return decode


_json_decode = _bounded(msgspec.json.Decoder(MessageEnvelope).decode, _JSON_OPENERS)
_msgpack_decode = _bounded(msgspec.msgpack.Decoder(MessageEnvelope).decode, _MSGPACK_OPENERS)

CODECS = (
    CodecSpec(
        name="msgpack",
        content_type="application/msgpack",
        encode=_msgpack_encoder.encode,
        decode=_msgpack_decode,
        description="MessagePack: the default; compact and fastest.",
    ),
    CodecSpec(
        name="json",
        content_type="application/json",
        encode=_json_encoder.encode,
        decode=_json_decode,
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
