"""The seed's model lifecycle as an explicit table: cold -> warming -> hot -> cooling -> cold.

Every move goes through :meth:`Lifecycle.move`, which refuses a move the table
lacks (a programming error in the pool, not a user's) and publishes the move as
a ``pool.model.<state>`` event, so the bus sees every model's history in order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from symphony.hookspecs import Event
from symphony.hookspecs.ports import ModelState

__all__ = ["TRANSITIONS", "IllegalTransitionError", "Lifecycle"]

#: state -> the states it may move to.  Warming fails back to cold (with the cause); a hot model only cools.
TRANSITIONS: Final[Mapping[ModelState, frozenset[ModelState]]] = {
    "cold": frozenset({"warming"}),
    "warming": frozenset({"hot", "cold"}),
    "hot": frozenset({"cooling"}),
    "cooling": frozenset({"cold"}),
}


class IllegalTransitionError(RuntimeError):
    """The pool tried a move the lifecycle does not allow: a bug in the pool, never the user's input."""


class Lifecycle:
    """One model's state, moved only along :data:`TRANSITIONS`, each move emitted as an event."""

    __slots__ = ("_emit", "model_id", "state")

    def __init__(self, model_id: str, emit: Callable[[Event], None]) -> None:
        self.model_id = model_id
        self.state: ModelState = "cold"
        self._emit = emit

    def move(self, to: ModelState, reason: str, **data: Any) -> None:
        """Move to ``to`` and publish ``pool.model.<to>`` with the model, the previous state and ``reason``."""
        before = self.state
        if to not in TRANSITIONS[before]:
            allowed = ", ".join(sorted(TRANSITIONS[before]))
            raise IllegalTransitionError(
                f"model {self.model_id!r} cannot go from {before} to {to} (from {before} it may go to {allowed})"
            )
        self.state = to
        self._emit(
            Event(
                topic=f"pool.model.{to}",
                source="pool",
                data={"model": self.model_id, "from": before, "reason": reason, **data},
            )
        )
