"""The IPC message envelope of seed M1.3.

One envelope type travels over every transport and codec.  The payload is a
tagged union (``kind`` = request | response | event | error), so a decoder
knows what it holds without guessing.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import msgspec

from ._base import Base
from ._exceptions import SymphonyError, error_class_for
from ._ids import EndpointId, MessageId, new_id

__all__ = [
    "PROTOCOL_VERSION",
    "ErrorPayload",
    "EventPayload",
    "MessageEnvelope",
    "MessageHeader",
    "MessagePayload",
    "MessageType",
    "RequestPayload",
    "ResponsePayload",
]

#: Version of the envelope schema, exchanged in the transport handshake.
PROTOCOL_VERSION = 1

MessageType = Literal["request", "response", "event", "error"]


class RequestPayload(Base, frozen=True, tag="request", tag_field="kind"):
    """Ask ``recipient`` to run ``method`` with ``params``."""

    method: str
    params: dict[str, Any] = msgspec.field(default_factory=dict)


class ResponsePayload(Base, frozen=True, tag="response", tag_field="kind"):
    """The successful result of a request (matched by ``correlation_id``)."""

    result: Any = None


class EventPayload(Base, frozen=True, tag="event", tag_field="kind"):
    """A notification on a dotted ``topic`` (``dag.node.finished``)."""

    topic: str
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class ErrorPayload(Base, frozen=True, tag="error", tag_field="kind"):
    """A failure, carried across processes without losing its category."""

    category: str
    message: str
    details: dict[str, Any] = msgspec.field(default_factory=dict)

    @classmethod
    def from_exception(cls, error: BaseException) -> ErrorPayload:
        category = error.category if isinstance(error, SymphonyError) else "symphony"
        return cls(category=category, message=str(error) or error.__class__.__name__)

    def to_exception(self) -> SymphonyError:
        """The most specific SymphonyError for this payload's category."""
        return error_class_for(self.category)(self.message)


MessagePayload = RequestPayload | ResponsePayload | EventPayload | ErrorPayload


class MessageHeader(Base, frozen=True):
    """Routing facts of a message.  ``timestamp`` is Unix time in seconds."""

    message_id: MessageId
    message_type: MessageType
    timestamp: float
    sender: EndpointId
    recipient: EndpointId
    correlation_id: MessageId | None = None


class MessageEnvelope(Base, frozen=True):
    """A header and a payload; see the module docstring."""

    header: MessageHeader
    payload: MessagePayload

    @classmethod
    def create(
        cls,
        payload: MessagePayload,
        *,
        sender: str,
        recipient: str,
        correlation_id: str | None = None,
    ) -> MessageEnvelope:
        """A new envelope with a fresh id and the current time."""
        kind: MessageType = payload.__struct_config__.tag  # type: ignore[assignment]
        header = MessageHeader(
            message_id=MessageId(new_id()),
            message_type=kind,
            timestamp=time.time(),
            sender=EndpointId(sender),
            recipient=EndpointId(recipient),
            correlation_id=MessageId(correlation_id) if correlation_id else None,
        )
        return cls(header=header, payload=payload)
