"""JSON and MessagePack codecs for the message envelope, built once and reused.

They live in the SDK so every end of a stream (the builtin transports, the
sandbox's worker) encodes envelopes the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import msgspec

from .._contributions import CodecSpec
from .._decoding import MAX_DEPTH, decode_bounded
from .._envelope import MessageEnvelope

__all__ = ["CODECS", "DECODERS", "ENCODERS"]

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

CODECS: Final = (
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
#: Each codec's encoder and decoder by name.
ENCODERS: Final = {codec.name: codec.encode for codec in CODECS}
DECODERS: Final = {codec.name: codec.decode for codec in CODECS}
