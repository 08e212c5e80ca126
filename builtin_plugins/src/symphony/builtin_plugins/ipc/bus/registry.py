"""Endpoint registry: EndpointId -> async handler, failing fast for unknown endpoints."""

from __future__ import annotations

from symphony.hookspecs import EndpointId, TransportError
from symphony.hookspecs.ports import Handler

__all__ = ["EndpointRegistry"]

#: How many registered endpoints an "unknown endpoint" error lists before truncating.
LISTED = 10


class EndpointRegistry:
    """The endpoints registered on one bus."""

    __slots__ = ("handlers",)

    def __init__(self) -> None:
        #: Read directly on the hot path.
        self.handlers: dict[EndpointId, Handler] = {}

    def __len__(self) -> int:
        return len(self.handlers)

    def __contains__(self, endpoint_id: object) -> bool:
        return endpoint_id in self.handlers

    def register(self, endpoint_id: EndpointId, handler: Handler) -> None:
        """Register ``handler`` for ``endpoint_id``; TransportError if the id is taken."""
        if not endpoint_id:
            raise ValueError("An endpoint id must be a non-empty string.")
        if endpoint_id in self.handlers:
            raise TransportError(
                f"Endpoint {endpoint_id!r} is already registered; unregister it first or choose another id."
            )
        self.handlers[endpoint_id] = handler

    def unregister(self, endpoint_id: EndpointId) -> bool:
        """Remove an endpoint; False if it was not registered."""
        return self.handlers.pop(endpoint_id, None) is not None

    def unknown(self, endpoint_id: str) -> TransportError:
        """The error for a message to an endpoint that is not (or no longer) registered."""
        names = sorted(self.handlers)
        if not names:
            listed = "none"
        elif len(names) <= LISTED:
            listed = ", ".join(names)
        else:
            listed = f"{', '.join(names[:LISTED])} and {len(names) - LISTED} more"
        return TransportError(
            f"No endpoint {endpoint_id!r} on the message bus (it was never registered or is gone)."
            f" Registered endpoints: {listed}."
        )
