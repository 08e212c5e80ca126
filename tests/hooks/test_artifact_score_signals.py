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


def test_symphony_artifact_score_signals_of_the_builtins_are_validation_use_feedback_and_age(
    make_host: MakeHost,
) -> None:
    contributed = make_host(discover=True).load().contributions("symphony_artifact_score_signals")
    assert {name: plugin for name, (plugin, _) in contributed.items()} == dict.fromkeys(
        ["validation", "use", "feedback", "age"], "artifacts"
    )


async def test_symphony_artifact_score_signals_of_a_plugin_rank_the_store_s_search(make_host: MakeHost) -> None:
    host = make_host(Reviews(), discover=True)
    async with host:
        store = host.port("artifact_store")
        plain = await store.store(b"revenue summary, revenue by region", {})  # the more relevant text
        checked = await store.store(b"revenue summary by region", {"reviewed": True})
        assert [info.artifact_id for info in await store.search("revenue")] == [checked, plain]
