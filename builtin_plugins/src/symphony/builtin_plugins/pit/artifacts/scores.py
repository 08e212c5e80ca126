"""Quality scores of artifacts, from pluggable signals (hook ``symphony_artifact_score_signals``).

Signal events (a downstream use, a +1/-1 vote, a validation result) are
rows of ``artifact_signals`` in the store's database, so every process sees
them as soon as they commit.  The score is computed from them when asked,
not cached: the age signal changes with the clock, and a stored score could
not follow it.  The formula is in docs/artifacts.md, "Search and quality".
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from sqlalchemy import Connection, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from symphony.hookspecs import ArtifactScoreSignal, ArtifactSignals, ValidationError

from . import catalog  # noqa: F401  (declares lineage_inputs, whose rows are downstream uses)
from .db import Base, Database

__all__ = ["BUILTIN_SIGNALS", "NEUTRAL", "Rated", "Scorer", "SignalEvent"]

#: The score of an artifact no signal has an opinion of.
NEUTRAL = 0.5
#: The age signal halves every this many seconds (30 days).
AGE_HALF_LIFE = 30 * 86400.0
#: Signal events of one downstream use (besides the lineage the DAG tracker records).
USE = "use"
#: Vote kinds users give with ``symphony artifacts score ID +1|-1``.
FEEDBACK = "feedback"


class SignalEvent(Base):
    """One signal event of one artifact: ``kind`` names it, ``value`` is its amount (+1/-1 for votes)."""

    __tablename__ = "artifact_signals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    artifact_id: Mapped[str] = mapped_column(String, index=True)
    kind: Mapped[str] = mapped_column(String)
    value: Mapped[float] = mapped_column(Float)
    at: Mapped[float] = mapped_column(Float)


def _validation(signals: ArtifactSignals) -> float | None:
    """1 when the latest validation verdict passed, 0 when it failed; from events, else metadata ``validation``."""
    if signals.counts.get("validation"):
        total = signals.events.get("validation", 0.0)
        return 1.0 if total > 0 else 0.0 if total < 0 else NEUTRAL
    verdict = signals.metadata.get("validation")
    return {"passed": 1.0, "failed": 0.0}.get(str(verdict)) if verdict is not None else None


def _use(signals: ArtifactSignals) -> float | None:
    """(n+1)/(n+2) for n downstream uses: each use raises it, with less weight than the one before."""
    uses = signals.counts.get(USE, 0)
    return (uses + 1) / (uses + 2) if uses else None


def _feedback(signals: ArtifactSignals) -> float | None:
    """(up+1)/(votes+2): votes move the score from neutral, a single vote only part of the way."""
    votes = signals.counts.get(FEEDBACK, 0)
    if not votes:
        return None
    up = (votes + signals.events.get(FEEDBACK, 0.0)) / 2
    return (up + 1) / (votes + 2)


def _age(signals: ArtifactSignals) -> float:
    """Halves every AGE_HALF_LIFE: newer artifacts are likelier to be the relevant ones."""
    return float(0.5 ** (max(0.0, signals.now - signals.created_at) / AGE_HALF_LIFE))


#: The builtin signals and their weights (the artifacts plugin contributes them through the hook).
BUILTIN_SIGNALS: tuple[ArtifactScoreSignal, ...] = (
    ArtifactScoreSignal(name="validation", value=_validation, weight=2.0, description="validation passed or failed"),
    ArtifactScoreSignal(name=USE, value=_use, weight=1.0, description="how often downstream nodes used it"),
    ArtifactScoreSignal(name=FEEDBACK, value=_feedback, weight=2.0, description="users' +1/-1 votes"),
    ArtifactScoreSignal(name="age", value=_age, weight=0.5, description="halves every 30 days"),
)


class Rated(NamedTuple):
    """What the scorer needs of an artifact besides its events."""

    metadata: Mapping[str, Any]
    created_at: float


class Scorer:
    """Records signal events and rates artifacts: the logistic of the signals' weighted evidence.

    A rating v is evidence w(2v - 1) (for v in [0, 1], weight w); the score is
    1 / (1 + e^-sum), so no opinion is NEUTRAL, a rating above 1/2 always raises
    the score and one below always lowers it, whatever the other signals say.
    """

    def __init__(
        self,
        database: Database,
        signals: Iterable[ArtifactScoreSignal] = BUILTIN_SIGNALS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._database = database
        self.signals = tuple(signals)
        self._clock = clock
        database.create_tables()  # artifact_signals, when the store opened its database before importing this
        for signal in self.signals:
            if not signal.weight > 0:
                raise ValidationError(
                    f"Score signal {signal.name!r} has weight {signal.weight}; weights must be positive numbers."
                )

    def record(self, artifact_id: str, kind: str, value: float = 1.0) -> None:
        """Record one signal event (``use``, ``feedback`` +1/-1, ``validation`` +1/-1, or a plugin's kind)."""
        if kind == FEEDBACK and value not in (1.0, -1.0):
            raise ValidationError(f"Feedback on {artifact_id} must be +1 or -1, not {value:g}.")
        with self._database.session() as session:
            session.add(SignalEvent(artifact_id=artifact_id, kind=kind, value=float(value), at=self._clock()))

    def score(self, artifact_id: str, artifact: Rated) -> float:
        """The artifact's quality in [0, 1]."""
        return self.scores({artifact_id: artifact})[artifact_id]

    def scores(self, artifacts: Mapping[str, Rated], connection: Connection | None = None) -> dict[str, float]:
        """The quality of each artifact, from two grouped queries (on ``connection`` when given)."""
        if connection is None:
            with self._database.session(readonly=True) as session:
                return self.scores(artifacts, session.connection())
        events: dict[str, dict[str, float]] = defaultdict(dict)
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        if artifacts:
            ids = tuple(artifacts)
            marks = ",".join("?" * len(ids))
            # Plain SQL: these run for every search, where compiling an expanding IN would cost more than the query.
            for artifact_id, kind, total, count in connection.exec_driver_sql(
                f"SELECT artifact_id, kind, sum(value), count(*) FROM artifact_signals"
                f" WHERE artifact_id IN ({marks}) GROUP BY artifact_id, kind",
                ids,
            ):
                events[artifact_id][kind] = float(total)
                counts[artifact_id][kind] = int(count)
            for artifact_id, count in connection.exec_driver_sql(  # each node output computed from it is a use
                f"SELECT input_id, count(*) FROM lineage_inputs WHERE input_id IN ({marks}) GROUP BY input_id",
                ids,
            ):
                events[artifact_id][USE] = events[artifact_id].get(USE, 0.0) + count
                counts[artifact_id][USE] = counts[artifact_id].get(USE, 0) + count
        now = self._clock()
        return {
            artifact_id: self._rate(
                ArtifactSignals(
                    artifact_id=artifact_id,
                    metadata=artifact.metadata,
                    created_at=artifact.created_at,
                    now=now,
                    events=events[artifact_id],
                    counts=counts[artifact_id],
                )
            )
            for artifact_id, artifact in artifacts.items()
        }

    def _rate(self, signals: ArtifactSignals) -> float:
        opinions = [(signal.weight, signal.value(signals)) for signal in self.signals]
        evidence = sum(weight * (2 * min(1.0, max(0.0, value)) - 1) for weight, value in opinions if value is not None)
        return 1 / (1 + math.exp(-evidence))
