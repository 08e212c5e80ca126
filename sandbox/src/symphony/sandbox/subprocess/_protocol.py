"""The worker protocol: its messages, as compact MessagePack arrays in length-prefixed frames.

The first frame each way opens the link: the parent sends :class:`Start` (the
spec, import paths, environment), the worker answers, once confined and
before any extension code ran, with :class:`Hello` (protocol version, the
confinement it applied or why it refused).  Then parent -> worker requests
``load`` (a :class:`Call`) and :class:`Invoke`, ``ping``; worker -> parent
``host.<name>`` calls (the guest API), only while an invoke is in flight.
Every request is answered by a :class:`Done` or a :class:`Failed` with its
``seq``.  Both ends are this package, so no codec is negotiated; the version
in ``Hello`` still refuses a worker from another release.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from symphony.hookspecs import MAX_DEPTH, ErrorPayload, SymphonyError, decode_bounded

from ..confine import ConfinementPolicy, ConfinementReport

__all__ = [
    "HOST",
    "HOST_PREFIX",
    "PROTOCOL",
    "Call",
    "Done",
    "Failed",
    "Hello",
    "Invoke",
    "LoadParams",
    "Message",
    "ReadyInfo",
    "Start",
    "WorkerSpec",
    "decode",
    "decode_hello",
    "decode_start",
    "encode",
    "failure",
]

#: Raised with every change to the messages below.
PROTOCOL: Final = 2
#: The parent's endpoint name, in messages a worker logs.
HOST: Final = "host"
#: Requests from the worker whose method starts with this go to ``host_call``.
HOST_PREFIX: Final = "host."


class WorkerSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the worker needs before it can confine itself.  Nothing secret: secrets travel in ``load``."""

    name: str
    entry: str
    policy: ConfinementPolicy
    workdir: str
    log_path: str
    #: The extension's own virtual environment's site-packages: readable, and put in front of
    #: ``sys.path`` once the runtime is imported, before the extension is (see ``_child``).
    environment_paths: tuple[str, ...] = ()


class Start(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The parent's first frame: the spec, the whole import path, the environment and umask to run with."""

    spec: WorkerSpec
    sys_path: tuple[str, ...]
    env: dict[str, str]
    umask: int


class Hello(msgspec.Struct, frozen=True, array_like=True):
    """The worker's first frame, sent before any extension code ran: ``confinement``, or the ``refusal``."""

    protocol: int
    confinement: ConfinementReport | None
    refusal: str | None = None


class Call(msgspec.Struct, frozen=True, array_like=True, tag=0):
    """A request by name: ``load``, ``ping`` (parent to worker) or ``host.<name>`` (worker to parent)."""

    seq: int
    method: str
    params: dict[str, Any] = {}


class Invoke(msgspec.Struct, frozen=True, array_like=True, tag=1):
    """Call the extension's handler: the hot path, so it has a message of its own."""

    seq: int
    operation: str
    input: dict[str, Any]


class Done(msgspec.Struct, frozen=True, array_like=True, tag=2):
    """The answer to request ``seq``."""

    seq: int
    result: Any = None


class Failed(msgspec.Struct, frozen=True, array_like=True, tag=3):
    """Request ``seq`` failed; ``category`` names the SymphonyError class (see ErrorPayload)."""

    seq: int
    category: str
    message: str


Message = Call | Invoke | Done | Failed


def failure(seq: int, error: SymphonyError) -> Failed:
    """``error`` as the answer to request ``seq``."""
    payload = ErrorPayload.from_exception(error)
    return Failed(seq, payload.category, payload.message)


class LoadParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``load``: import the extension; ``config`` is its validated configuration, secrets included."""

    config: dict[str, Any] = {}


class ReadyInfo(msgspec.Struct, frozen=True, kw_only=True):
    """The ``load`` answer.  No pid and no confinement: it is sent after extension code ran, which could alter them."""

    python: str
    import_ms: float


_encoder: Final = msgspec.msgpack.Encoder()
_decoder: Final = msgspec.msgpack.Decoder(Message)
_hello: Final = msgspec.msgpack.Decoder(Hello)
_start: Final = msgspec.msgpack.Decoder(Start)
#: The bytes that can open a MessagePack container (fixmap, fixarray, array/map 16/32); they also occur in values.
_OPENERS: Final = bytes(range(0x80, 0xA0)) + bytes(range(0xDC, 0xE0))

encode: Final = _encoder.encode


def decode(frame: bytes) -> Message:
    """A message; msgspec.DecodeError if ``frame`` is not one or nests deeper than MAX_DEPTH.

    A frame holding no more container openers than the limit cannot be too
    deep, so the usual small message skips the walk.
    """
    if len(frame) - len(frame.translate(None, _OPENERS)) <= MAX_DEPTH:
        return _decoder.decode(frame)
    return decode_bounded(lambda: _decoder.decode(frame), what="A worker message", error=msgspec.DecodeError)


def decode_hello(frame: bytes) -> Hello:
    return _hello.decode(frame)


def decode_start(frame: bytes) -> Start:
    return _start.decode(frame)
