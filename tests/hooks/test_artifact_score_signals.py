"""symphony_artifact_score_signals: a plugin's quality signal rates artifacts beside the builtins'."""

from __future__ import annotations

from pathlib import Path

from symphony.builtin_plugins.pit.artifacts.db import Database
from symphony.builtin_plugins.pit.artifacts.scores import BUILTIN_SIGNALS, Rated, Scorer
from symphony.hookspecs import ArtifactScoreSignal, ArtifactSignals, hookimpl
from symphony.hookspecs.ports import HostContext

from .conftest import MakeHost


def reviewed(signals: ArtifactSignals) -> float | None:
    return 1.0 if signals.metadata.get("reviewed") else None


class Reviews:
    @hookimpl
    def symphony_artifact_score_signals(self, context: HostContext) -> list[ArtifactScoreSignal]:
        return [ArtifactScoreSignal(name="reviewed", value=reviewed, weight=3.0)]


def test_symphony_artifact_score_signals_of_a_plugin_raise_the_score_of_what_they_rate(
    make_host: MakeHost, tmp_path: Path
) -> None:
    contributed = make_host(Reviews()).load().contributions("symphony_artifact_score_signals")
    scorer = Scorer(Database(tmp_path / "index.db"), [*BUILTIN_SIGNALS, *(spec for _, spec in contributed.values())])
    plain, checked = Rated({}, created_at=0.0), Rated({"reviewed": True}, created_at=0.0)
    assert contributed["reviewed"][0] == "Reviews"
    assert scorer.score("a", checked) > scorer.score("a", plain)
