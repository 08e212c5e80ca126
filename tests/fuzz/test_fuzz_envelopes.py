"""Fuzzing what arrives on a socket: frames, then envelopes in each codec.

A frame decoder fed any bytes, in any split, yields frames or refuses an
oversized one (FrameTooLargeError); a codec decodes an envelope or raises
msgspec.DecodeError (which the transport reports as a malformed envelope).
Nothing else may escape: not RecursionError, not a crash of the reader.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fuzz_workflow_formats import VALUES, mutated  # type: ignore[import-not-found]  # tests/fuzz is no package

from symphony.builtin_plugins.ipc.codecs import CODECS
from symphony.builtin_plugins.ipc.framing import FrameDecoder, FrameTooLargeError, encode_frame
from symphony.hookspecs import (
    CodecSpec,
    ErrorPayload,
    EventPayload,
    MessageEnvelope,
    RequestPayload,
    ResponsePayload,
)

FUZZ: Final = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PAYLOADS: Final = [
    RequestPayload(method="ping", params={"a": 1, "b": [1.5, None, "x"]}),
    ResponsePayload(result={"ok": True}),
    EventPayload(topic="t.x", data={"k": "v"}),
    ErrorPayload(category="data.validation", message="bad"),
]


def envelope(payload: Any) -> MessageEnvelope:
    return MessageEnvelope.create(payload, sender="fuzz", recipient="host", correlation_id="c1")


SEEDS: Final = [envelope(payload) for payload in PAYLOADS]  # made once: a seed must not change between examples


def decodes(codec: CodecSpec, frame: bytes) -> None:
    """The only outcomes allowed: an envelope, or a DecodeError that says something."""
    try:
        assert isinstance(codec.decode(frame), MessageEnvelope)
    except msgspec.DecodeError as error:
        assert str(error)


@pytest.mark.parametrize("codec", CODECS, ids=lambda codec: codec.name)
@FUZZ
@given(frame=st.binary(max_size=2048))
def test_random_frames_decode_or_raise_decode_error(codec: CodecSpec, frame: bytes) -> None:
    decodes(codec, frame)


@pytest.mark.parametrize("codec", CODECS, ids=lambda codec: codec.name)
@FUZZ
@given(data=st.data(), seed=st.sampled_from(SEEDS))
def test_valid_envelopes_mutated_decode_or_raise_decode_error(
    codec: CodecSpec, data: st.DataObject, seed: MessageEnvelope
) -> None:
    decodes(codec, data.draw(mutated(codec.encode(seed))))


@pytest.mark.parametrize("codec", CODECS, ids=lambda codec: codec.name)
@FUZZ
@given(value=VALUES)
def test_any_params_round_trip_or_raise_decode_error(codec: CodecSpec, value: Any) -> None:
    sent = envelope(RequestPayload(method="m", params={"v": value}))
    try:
        frame = codec.encode(sent)
    except OverflowError:
        return  # MessagePack holds 64-bit integers only: the sender's problem, not the reader's
    try:
        assert codec.decode(frame) == sent
    except msgspec.DecodeError as error:
        assert "nests deeper than the limit" in str(error)


@FUZZ
@given(chunks=st.lists(st.binary(max_size=64), max_size=20), limit=st.integers(0, 256))
def test_a_frame_decoder_fed_any_bytes_cuts_frames_or_refuses_an_oversized_one(chunks: list[bytes], limit: int) -> None:
    decoder = FrameDecoder(max_size=limit, buffer_size=16)
    try:
        for chunk in chunks:
            decoder.feed(chunk)
    except FrameTooLargeError as error:
        assert error.got > limit and decoder.failed is error
    assert all(len(frame) <= limit for frame in decoder.frames)
    assert str(decoder.eof_error())


@FUZZ
@given(payloads=st.lists(st.binary(max_size=100), max_size=10), cuts=st.lists(st.integers(0, 2000), max_size=10))
def test_frames_split_anywhere_come_out_whole_and_in_order(payloads: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(encode_frame(payload) for payload in payloads)
    decoder = FrameDecoder(buffer_size=16)
    start = 0
    for cut in sorted({min(cut, len(stream)) for cut in cuts} | {len(stream)}):
        decoder.feed(stream[start:cut])
        start = cut
    assert list(decoder.frames) == payloads
    assert decoder.pending == 0


@pytest.mark.slow
@pytest.mark.parametrize("codec", CODECS, ids=lambda codec: codec.name)
@settings(max_examples=30, deadline=None)
@given(levels=st.integers(1, 6_000), arrays=st.booleans())
def test_deeply_nested_envelopes_decode_or_raise_decode_error(codec: CodecSpec, levels: int, arrays: bool) -> None:
    marker = codec.encode("MARKER")
    if codec.name == "json":
        nest = ("[" * levels + "]" * levels if arrays else '{"a": ' * levels + "1" + "}" * levels).encode()
    else:
        nest = b"\x91" * levels + b"\xc0" if arrays else b"\x81\xa1a" * levels + b"\x01"
    decodes(codec, codec.encode(envelope(RequestPayload(method="m", params={"v": "MARKER"}))).replace(marker, nest))
