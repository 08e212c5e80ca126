"""The child side of a supervised endpoint: answer requests from the parent over stdio.

A process started by :class:`~.bus.supervisor.SupervisedEndpoint` calls
:func:`serve_endpoint` with its request handlers.  It answers the supervisor's
heartbeat (method :data:`PING`) itself, runs each request in its own task (so a
slow request never delays a heartbeat), and returns when the parent closes
the pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from symphony.hookspecs import (
    ErrorPayload,
    MessageEnvelope,
    NotFoundError,
    RequestPayload,
    ResponsePayload,
    SerializationError,
    TransportError,
)

from .transports import serve_stdio

__all__ = ["PING", "RequestHandler", "serve_endpoint"]

log = logging.getLogger("symphony.ipc.endpoint")

#: The heartbeat method; its response carries ``{"pid": ...}``.
PING: Final = "symphony.ping"

#: ``async def handler(params) -> result``; an exception becomes an error envelope.
RequestHandler = Callable[[dict[str, Any]], Awaitable[Any]]


async def serve_endpoint(handlers: Mapping[str, RequestHandler], *, name: str = "endpoint") -> None:
    """Serve ``handlers`` (method -> handler) to the parent until it closes stdin."""
    connection = await serve_stdio()
    tasks: set[asyncio.Task[None]] = set()

    async def answer(request: MessageEnvelope, payload: RequestPayload) -> None:
        reply: Any
        try:
            if payload.method == PING:
                reply = ResponsePayload(result={"pid": os.getpid()})
            elif (handler := handlers.get(payload.method)) is None:
                raise NotFoundError(f"endpoint {name!r} has no method {payload.method!r}; it offers {sorted(handlers)}")
            else:
                reply = ResponsePayload(result=await handler(payload.params))
        except Exception as error:
            reply = ErrorPayload.from_exception(error)
        envelope = MessageEnvelope.create(
            reply,
            sender=request.header.recipient,
            recipient=request.header.sender,
            correlation_id=request.header.message_id,
        )
        with contextlib.suppress(TransportError):  # the parent is gone; the read loop ends too
            await connection.send_envelope(envelope)

    try:
        while True:
            try:
                envelope = await connection.receive_envelope()
            except SerializationError as error:
                log.warning("%s", error)
                continue
            except TransportError:
                return
            if isinstance(envelope.payload, RequestPayload):
                task = asyncio.get_running_loop().create_task(answer(envelope, envelope.payload))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
    finally:
        for task in tasks:
            task.cancel()
        await connection.close()
