"""Quality scores: signal events in the store's real SQLite database, rated by the builtin signals."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from symphony.builtin_plugins.pit.artifacts.catalog import Catalog, Lineage
from symphony.builtin_plugins.pit.artifacts.db import Database
from symphony.builtin_plugins.pit.artifacts.scores import AGE_HALF_LIFE, BUILTIN_SIGNALS, NEUTRAL, Rated, Scorer
from symphony.builtin_plugins.pit.artifacts.search import Hit, SearchIndex, document_of
from symphony.hookspecs import ArtifactScoreSignal, ArtifactSignals, ValidationError

NOW = 1_000_000_000.0
FRESH = Rated(metadata={}, created_at=NOW)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def database(tmp_path: Path) -> Database:
    return Database(tmp_path / "index.db")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def scorer(database: Database, clock: Clock) -> Scorer:
    return Scorer(database, clock=clock)


def test_an_artifact_no_signal_rates_is_neutral(database: Database) -> None:
    assert Scorer(database, signals=()).score("a", FRESH) == NEUTRAL


def test_an_upvote_raises_the_score(scorer: Scorer) -> None:
    before = scorer.score("a", FRESH)
    scorer.record("a", "feedback", +1)
    assert scorer.score("a", FRESH) > before


def test_a_downvote_lowers_the_score(scorer: Scorer) -> None:
    before = scorer.score("a", FRESH)
    scorer.record("a", "feedback", -1)
    assert scorer.score("a", FRESH) < before


def test_votes_count_for_their_artifact_only(scorer: Scorer) -> None:
    scorer.record("a", "feedback", -1)
    assert scorer.score("b", FRESH) == scorer.score("c", FRESH)


def test_feedback_other_than_plus_or_minus_one_is_refused(scorer: Scorer) -> None:
    with pytest.raises(ValidationError, match=r"must be \+1 or -1, not 5"):
        scorer.record("a", "feedback", 5)


def test_a_passed_validation_rates_above_a_failed_one(scorer: Scorer) -> None:
    scorer.record("passed", "validation", +1)
    scorer.record("failed", "validation", -1)
    assert scorer.score("passed", FRESH) > scorer.score("failed", FRESH)


def test_a_validation_verdict_in_the_metadata_counts_when_no_event_was_recorded(scorer: Scorer) -> None:
    passed = Rated(metadata={"validation": "passed"}, created_at=NOW)
    failed = Rated(metadata={"validation": "failed"}, created_at=NOW)
    assert scorer.score("a", passed) > scorer.score("a", FRESH) > scorer.score("a", failed)


def test_more_downstream_uses_rate_higher(scorer: Scorer) -> None:
    scorer.record("once", "use")
    for _ in range(5):
        scorer.record("often", "use")
    assert scorer.score("often", FRESH) > scorer.score("once", FRESH)


def test_the_age_signal_halves_every_half_life() -> None:
    (age,) = (signal for signal in BUILTIN_SIGNALS if signal.name == "age")
    assert age.value(ArtifactSignals(artifact_id="a", metadata={}, created_at=NOW, now=NOW)) == 1.0
    later = ArtifactSignals(artifact_id="a", metadata={}, created_at=NOW, now=NOW + AGE_HALF_LIFE)
    assert age.value(later) == pytest.approx(0.5)


def test_an_older_artifact_rates_lower_than_a_newer_one_with_the_same_signals(scorer: Scorer) -> None:
    assert scorer.score("a", Rated({}, created_at=NOW - AGE_HALF_LIFE)) < scorer.score("a", FRESH)


def test_a_signal_with_no_opinion_leaves_the_others_to_decide(database: Database) -> None:
    silent = ArtifactScoreSignal(name="silent", value=lambda signals: None, weight=100.0)
    votes = [signal for signal in BUILTIN_SIGNALS if signal.name == "feedback"]
    alone, with_silent = Scorer(database, signals=votes), Scorer(database, signals=[*votes, silent])
    alone.record("a", "feedback", +1)
    assert with_silent.score("a", FRESH) == alone.score("a", FRESH)


def test_a_signal_of_weight_zero_is_refused(database: Database) -> None:
    with pytest.raises(ValidationError, match=r"'never' has weight 0.*positive"):
        Scorer(database, signals=[ArtifactScoreSignal(name="never", value=lambda signals: 1.0, weight=0.0)])


def test_a_vote_recorded_by_another_process_counts_at_once(scorer: Scorer, tmp_path: Path) -> None:
    before = scorer.score("a", FRESH)
    vote = (
        "from pathlib import Path\n"
        "from symphony.builtin_plugins.pit.artifacts.db import Database\n"
        "from symphony.builtin_plugins.pit.artifacts.scores import Scorer\n"
        f"Scorer(Database(Path({str(tmp_path / 'index.db')!r}))).record('a', 'feedback', 1)\n"
    )
    subprocess.run([sys.executable, "-c", vote], check=True)
    assert scorer.score("a", FRESH) > before


def test_scores_rank_search_results_as_signals_arrive(scorer: Scorer, tmp_path: Path) -> None:
    def quality(hits: Sequence[Hit]) -> Mapping[str, float]:
        return scorer.scores({hit.artifact_id: FRESH for hit in hits})

    index = SearchIndex(tmp_path / "search", quality=quality)
    index.add([document_of(i, b"a summary of the quarter", {}, NOW) for i in ("first", "second")])
    top = index.search("summary")[0][0].artifact_id
    scorer.record(top, "feedback", -1)
    assert index.search("summary")[0][0].artifact_id != top


def test_each_node_output_computed_from_an_artifact_counts_as_a_use(scorer: Scorer, database: Database) -> None:
    before = scorer.score("input", FRESH)
    Catalog(database).record(
        [
            Lineage(
                artifact_id="output",
                run_id="r",
                node_id="n",
                contribution="c",
                contribution_version=None,
                inputs=["input"],
            )
        ]
    )
    assert scorer.score("input", FRESH) > before
