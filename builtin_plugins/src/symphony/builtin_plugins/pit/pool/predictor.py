"""History prediction: a model used often recently and pushed out for room is warmed again when room returns.

Only models cooled by eviction are candidates: one that cooled because it sat
idle past its timeout has just shown it is not needed, and warming it again
would undo the idle timeout.  Memory is bounded: a few timestamps per known model.
"""

from __future__ import annotations

from collections import deque

__all__ = ["HistoryPredictor"]


class HistoryPredictor:
    """Remembers the last ``keep`` uses of each model; ``frequent`` means ``uses`` of them within ``window`` seconds."""

    def __init__(self, *, window: float, uses: int = 3, keep: int = 8) -> None:
        self.window = window
        self.uses = uses
        self._keep = keep
        self._history: dict[str, deque[float]] = {}
        #: Evicted frequent models waiting for room, oldest eviction first.
        self._candidates: dict[str, None] = {}

    def used(self, model_id: str, now: float) -> None:
        history = self._history.get(model_id)
        if history is None:
            history = self._history[model_id] = deque(maxlen=self._keep)
        history.append(now)
        self._candidates.pop(model_id, None)

    def frequent(self, model_id: str, now: float) -> bool:
        history = self._history.get(model_id, ())
        return sum(1 for at in history if now - at <= self.window) >= self.uses

    def evicted(self, model_id: str, now: float) -> None:
        """The pool cooled ``model_id`` for room; remember it if it was in frequent use."""
        if self.frequent(model_id, now):
            self._candidates[model_id] = None

    def forget(self, model_id: str) -> None:
        """No longer a candidate (unloaded on purpose, or warming again anyway)."""
        self._candidates.pop(model_id, None)

    def candidates(self, now: float) -> list[str]:
        """Candidates still in frequent use, most frequently used first."""
        stale = [model for model in self._candidates if not self.frequent(model, now)]
        for model in stale:
            del self._candidates[model]
        return sorted(self._candidates, key=lambda model: -len(self._history.get(model, ())))
