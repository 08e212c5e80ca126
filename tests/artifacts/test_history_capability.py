"""The builtin store's ArtifactHistory capability: versions and lineage as SDK structs, for callers of the port."""

from __future__ import annotations

import pytest

from symphony.builtin_plugins.pit.artifacts import ArtifactStore
from symphony.builtin_plugins.pit.artifacts.catalog import Lineage
from symphony.hookspecs import ArtifactId, NotFoundError, ValidationError
from symphony.hookspecs.ports import ArtifactHistory, LineageStep


def made(artifact_id: str, node: str, inputs: list[str]) -> Lineage:
    return Lineage(
        artifact_id=artifact_id, run_id="r1", node_id=node, contribution=node, contribution_version=None, inputs=inputs
    )


def test_the_builtin_store_offers_the_history_capability(store: ArtifactStore) -> None:
    assert isinstance(store, ArtifactHistory)


async def test_versions_are_every_version_of_each_name_pointing_at_the_artifact(store: ArtifactStore) -> None:
    first, second = await store.store(b"first draft"), await store.store(b"second draft")
    store.catalog.name("report", first)
    store.catalog.name("report", second, tags=["final"])
    store.catalog.name("summary", second)

    versions = await store.versions(second)

    assert [(v.name, v.version, v.artifact_id, v.tags) for v in versions] == [
        ("report", 1, first, []),
        ("report", 2, second, ["final"]),
        ("summary", 1, second, []),
    ]


async def test_lineage_says_what_produced_an_artifact_and_what_used_it(store: ArtifactStore) -> None:
    source, middle, last = [await store.store(text) for text in (b"source", b"middle", b"last")]
    store.catalog.record([made(middle, "parse", [source]), made(last, "sum", [middle])])

    lineage = await store.lineage(middle)

    assert lineage.artifact_id == middle
    assert [(s.node_id, s.inputs) for s in lineage.produced_by] == [("parse", [source])]
    assert [(s.node_id, s.artifact_id) for s in lineage.used_by] == [("sum", last)]
    assert all(isinstance(step, LineageStep) for step in lineage.produced_by + lineage.used_by)


async def test_an_artifact_without_names_or_lineage_has_none(store: ArtifactStore) -> None:
    alone = await store.store(b"alone")
    assert await store.versions(alone) == []
    lineage = await store.lineage(alone)
    assert (lineage.produced_by, lineage.used_by) == ([], [])


async def test_an_unknown_or_malformed_artifact_is_refused(store: ArtifactStore) -> None:
    with pytest.raises(NotFoundError):
        await store.versions(ArtifactId("sha256:" + "0" * 64))
    with pytest.raises(ValidationError, match="expected 'sha256:' and 64 hex digits"):
        await store.lineage(ArtifactId("report"))
