"""The frames between the pool and a model worker: requests and replies matched by an integer id.

Both ends run over :mod:`symphony.hookspecs.wire.stdio` (length-prefixed
frames after a version/codec handshake); the body of each frame is one of
these Structs in MessagePack, array-like so a call costs a few dozen bytes.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import msgspec

__all__ = ["WORKER_MODULE", "Reply", "Request", "decode_reply", "decode_request", "encode"]

#: What the pool runs as ``python -m``: the worker's entry point.
WORKER_MODULE: Final = "symphony.builtin_plugins.pit.pool.worker"
#: The host's pid, so a worker started by a host that is already gone exits at once.
PARENT_ENV: Final = "SYMPHONY_POOL_PARENT"


class Request(msgspec.Struct, frozen=True, array_like=True):
    """``load`` (payload: loader and config), ``call`` (method and payload) or ``ping``."""

    id: int
    op: Literal["load", "call", "ping"]
    method: str = ""
    payload: Any = None


class Reply(msgspec.Struct, frozen=True, array_like=True):
    """The answer to request ``id``: ``value`` when ``ok``, else the error's ``category`` and message in ``value``."""

    id: int
    ok: bool
    value: Any = None
    category: str = ""


encode = msgspec.msgpack.Encoder().encode
decode_request = msgspec.msgpack.Decoder(Request).decode
decode_reply = msgspec.msgpack.Decoder(Reply).decode
