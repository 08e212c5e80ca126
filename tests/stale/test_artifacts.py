"""The ``artifacts`` source: what the store's own gc would take (after its grace period), and marked artifacts."""

from __future__ import annotations

from pathlib import Path

from symphony.hookspecs import ArtifactId, NotFoundError, StaleItem
from symphony.hookspecs.ports import StaleReport
from symphony.host import Host

from .conftest import CACHED, DAY, MakeHost, age_run, execute_sql, manager_of, run

NO_GRACE = {"artifacts": {"options": {"gc_grace": 0}}}


def artifact_items(report: StaleReport) -> list[StaleItem]:
    return [item for item in report.items if item.source == "artifacts"]


async def store(host: Host, content: bytes, name: str | None = None) -> ArtifactId:
    artifacts = host.port("artifact_store")
    artifact_id: ArtifactId = await artifacts.store(content)
    if name is not None:
        artifacts.catalog.name(name, artifact_id)
    return artifact_id


async def test_an_artifact_nothing_refers_to_past_the_grace_period_is_stale_and_a_named_one_is_not(
    make_host: MakeHost,
) -> None:
    host = make_host(**NO_GRACE)
    await store(host, b"loose " * 2000)
    await store(host, b"named " * 2000, name="keep")
    [item] = artifact_items(await manager_of(host).report())
    assert (item.kind, item.key) == ("chunks", "unreferenced")
    assert item.detail["objects"] == 1 and item.size > 0


async def test_within_the_grace_period_nothing_is_stale(make_host: MakeHost) -> None:
    host = make_host()  # gc_grace: one hour
    await store(host, b"loose " * 2000)
    assert artifact_items(await manager_of(host).report()) == []


async def test_gc_removes_the_unreferenced_artifact_keeps_the_named_one_and_a_second_report_is_empty(
    make_host: MakeHost,
) -> None:
    host = make_host(**NO_GRACE)
    loose = await store(host, b"loose " * 2000)
    named = await store(host, b"named " * 2000, name="keep")
    [item] = artifact_items(await manager_of(host).collect())
    assert item.detail["objects"] == 1
    artifacts = host.port("artifact_store")
    assert await artifacts.retrieve(named) == b"named " * 2000
    try:
        await artifacts.retrieve(loose)
    except NotFoundError:
        pass
    else:
        raise AssertionError("the unreferenced artifact is still there")
    assert artifact_items(await manager_of(host).report()) == []


async def test_a_marked_artifact_becomes_collectable_once_the_runs_whose_lineage_holds_it_are_reclaimed(
    make_host: MakeHost, tmp_path: Path
) -> None:
    host = make_host(stale={"runs": "1d"}, **NO_GRACE)
    run_id = await run(host, CACHED, text='"' + "x" * 70_000 + '"')  # over the inline limit: stored as an artifact
    index = tmp_path / "data" / "artifacts" / "index.db"
    [(output,)] = execute_sql(index, "SELECT artifact_id FROM lineage WHERE node_id = 'parse'")
    manager = manager_of(host)
    await manager.mark_stale([ArtifactId(output)], "recomputed elsewhere")
    assert artifact_items(await manager.report()) == []  # its run is still recorded and may need it
    await age_run(host, run_id, 2 * DAY)
    await manager.collect()  # the run goes, and the cache entry whose outputs were marked
    [item] = artifact_items(await manager.report())
    assert (item.kind, item.key) == ("marked", output) and "recomputed elsewhere" in item.reason
    await manager.collect()  # its lineage is forgotten
    assert execute_sql(index, "SELECT count(*) FROM lineage WHERE artifact_id = ?", output) == [(0,)]
    await manager.collect()  # now nothing roots it: the store's gc takes it
    assert execute_sql(index, "SELECT count(*) FROM objects WHERE id = ?", output) == [(0,)]
    assert (await manager.report()).items == []
    assert await manager.is_stale(ArtifactId(output))  # the mark itself is durable
