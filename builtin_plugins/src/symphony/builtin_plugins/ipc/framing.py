"""Length-prefixed framing, kept in the SDK (:mod:`symphony.hookspecs.wire.framing`) so the sandbox shares it."""

from symphony.hookspecs.wire.framing import (
    DEFAULT_MAX_FRAME_SIZE,
    HEADER_SIZE,
    FrameDecoder,
    FrameTooLargeError,
    encode_frame,
)

__all__ = ["DEFAULT_MAX_FRAME_SIZE", "HEADER_SIZE", "FrameDecoder", "FrameTooLargeError", "encode_frame"]
