"""Fuzz the frame decoder against a plain reference: same frames, same refusal, any split of the stream.

Input: the limits (frame size, first-frame size, buffer size), how the stream
is cut into reads, and the stream itself -- raw bytes, or well-formed frames
followed by garbage.  The bytes are pushed both through ``feed`` and straight
into ``buffer``/``commit`` as the socket path does; the frames, ``queued``,
``pending`` and the FrameTooLargeError must be exactly the reference's.
"""

from __future__ import annotations

from _harness import fuzz, instrumented

with instrumented(__name__):
    from symphony.builtin_plugins.ipc.framing import HEADER_SIZE, FrameDecoder, FrameTooLargeError, encode_frame

import atheris

_MAX_LIMIT = 1 << 12


def _reference(
    stream: bytes, max_size: int, first_limit: int | None
) -> tuple[list[bytes], tuple[int, int] | None, int]:
    """Frames, the refused ``(limit, length)`` if any, and the bytes left over."""
    frames: list[bytes] = []
    position = 0
    limit = max_size if first_limit is None else min(first_limit, max_size)
    while len(stream) - position >= HEADER_SIZE:
        length = int.from_bytes(stream[position : position + HEADER_SIZE], "big")
        if length > limit:
            return frames, (limit, length), len(stream) - position
        end = position + HEADER_SIZE + length
        if end > len(stream):
            break
        frames.append(stream[position + HEADER_SIZE : end])
        position, limit = end, max_size
    return frames, None, len(stream) - position


def _stream(data: atheris.FuzzedDataProvider) -> bytes:
    if data.ConsumeBool():
        return bytes(data.ConsumeBytes(data.ConsumeIntInRange(0, 1 << 14)))
    frames = [
        encode_frame(data.ConsumeBytes(data.ConsumeIntInRange(0, 700)), _MAX_LIMIT)
        for _ in range(data.ConsumeIntInRange(0, 8))
    ]
    return b"".join(frames) + bytes(data.ConsumeBytes(data.ConsumeIntInRange(0, 16)))


def target(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    max_size = provider.ConsumeIntInRange(0, _MAX_LIMIT)
    first_limit = provider.ConsumeIntInRange(0, _MAX_LIMIT) if provider.ConsumeBool() else None
    decoder = FrameDecoder(max_size, buffer_size=provider.ConsumeIntInRange(0, 1 << 13), first_limit=first_limit)
    reads = [provider.ConsumeIntInRange(1, 1 << 12) for _ in range(provider.ConsumeIntInRange(1, 16))]
    pop_every = provider.ConsumeIntInRange(0, 3)
    stream = _stream(provider)
    expected_frames, expected_error, left_over = _reference(stream, max_size, first_limit)

    received: list[bytes] = []
    refused: FrameTooLargeError | None = None
    position, step = 0, 0
    while position < len(stream) and refused is None:
        chunk = stream[position : position + reads[step % len(reads)]]
        try:
            if step % 2:
                decoder.feed(chunk)
            else:
                room = decoder.buffer()
                assert len(room) > 0
                count = min(len(room), len(chunk))
                room[:count] = chunk[:count]
                room.release()
                chunk = chunk[:count]
                decoder.commit(count)
        except FrameTooLargeError as error:
            refused = error
        position += len(chunk)
        step += 1
        if pop_every and step % pop_every == 0:
            while decoder.frames:
                received.append(decoder.pop())
    assert decoder.queued == sum(len(frame) for frame in decoder.frames)
    received.extend(decoder.frames)

    assert received == expected_frames
    if expected_error is None:
        assert refused is None and decoder.failed is None
        assert decoder.pending == left_over
        assert str(decoder.eof_error())
    else:
        assert refused is not None and decoder.failed is refused
        assert (refused.expected, refused.got) == expected_error


if __name__ == "__main__":
    fuzz(target)
