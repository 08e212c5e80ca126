"""The ``node-cache`` source: entries superseded, too old, of a contribution gone, or with outputs marked stale."""

from __future__ import annotations

import json
import time
from pathlib import Path

from symphony.hookspecs import ArtifactId, OperatorSpec, PortSpec, StaleItem, hookimpl
from symphony.hookspecs.ports import StaleReport

from .conftest import CACHED, DAY, MakeHost, cache_entries, data_of, execute_sql, flow, manager_of, run, service_db


def cache_items(report: StaleReport) -> list[StaleItem]:
    return [item for item in report.items if item.source == "node-cache"]


async def test_the_current_entry_of_a_workflow_node_is_not_stale(make_host: MakeHost) -> None:
    host = make_host()
    await run(host, CACHED, text="1")
    assert cache_items(await manager_of(host).report()) == []


async def test_an_entry_superseded_by_a_newer_one_of_the_same_workflow_node_is_stale(make_host: MakeHost) -> None:
    host = make_host()
    old = await run(host, CACHED, text="1")
    await run(host, CACHED, text="2")  # other inputs: a second entry for node parse of workflow w
    [item] = cache_items(await manager_of(host).report())
    assert (await cache_entries(data_of(host)))[item.key] == old
    assert "superseded" in item.reason and "'parse'" in item.reason and item.size > 0


async def test_entries_of_other_workflows_do_not_supersede_each_other(make_host: MakeHost) -> None:
    host = make_host()
    other = flow(
        '[inputs]\ntext = { type = "string" }\n[nodes.parse]\nkind = "operator"\nuses = "json-parse"\n'
        'config = { run = { cache = true } }\n[[edges]]\nkind = "data"\nfrom = "inputs.text"\nto = "parse.text"\n',
        "other",
    )
    await run(host, CACHED, text="1")
    await run(host, other, text="2")
    assert cache_items(await manager_of(host).report()) == []


async def test_with_keep_all_a_superseded_entry_is_kept(make_host: MakeHost) -> None:
    host = make_host(stale={"cache": "keep-all"})
    await run(host, CACHED, text="1")
    await run(host, CACHED, text="2")
    assert cache_items(await manager_of(host).report()) == []


async def test_with_a_maximum_age_entries_older_than_it_are_stale_and_younger_ones_kept(
    make_host: MakeHost, tmp_path: Path
) -> None:
    host = make_host(stale={"cache": "2d"})
    old = await run(host, CACHED, text="1")
    young = await run(host, CACHED, text="2")
    database = service_db(tmp_path / "data")  # the port cannot backdate a cache entry
    execute_sql(database, "UPDATE node_cache SET created_at = ? WHERE run_id = ?", time.time() - 2 * DAY - 60, old)
    execute_sql(database, "UPDATE node_cache SET created_at = ? WHERE run_id = ?", time.time() - 2 * DAY + 60, young)
    [item] = cache_items(await manager_of(host).report())
    assert item.detail["run_id"] == old and "cache = '2d'" in item.reason


def _upper(config: object) -> object:
    async def call(inputs: dict[str, str]) -> dict[str, str]:
        return {"text": inputs["text"].upper()}

    return call


class Upper:
    """A plugin contributing operator ``upper`` (present in one host, gone in the next)."""

    @hookimpl
    def symphony_operators(self) -> list[OperatorSpec]:
        port = {"text": PortSpec(type="string")}
        return [OperatorSpec(name="upper", factory=_upper, inputs=port, outputs=port)]


UPPER = flow(
    '[inputs]\ntext = { type = "string" }\n[nodes.up]\nkind = "operator"\nuses = "upper"\n'
    'config = { run = { cache = true } }\n[[edges]]\nkind = "data"\nfrom = "inputs.text"\nto = "up.text"\n',
    "up",
)


async def test_an_entry_of_a_contribution_no_longer_installed_is_stale(make_host: MakeHost, tmp_path: Path) -> None:
    run_id = await run(make_host(Upper()), UPPER, text="a")
    [item] = cache_items(await manager_of(make_host()).report())
    assert item.detail["run_id"] == run_id
    assert item.reason.startswith("contribution 'upper' is no longer installed")


async def test_an_entry_whose_outputs_were_marked_stale_is_stale(make_host: MakeHost, tmp_path: Path) -> None:
    host = make_host()
    await run(host, CACHED, text="1")
    [(artifact,)] = execute_sql(tmp_path / "data" / "artifacts" / "index.db", "SELECT artifact_id FROM lineage")
    await manager_of(host).mark_stale([ArtifactId(artifact)], "the parser had a bug")
    [item] = cache_items(await manager_of(host).report())
    assert "marked stale: the parser had a bug" in item.reason


async def test_gc_deletes_stale_entries_only_and_the_next_run_of_their_inputs_recomputes(make_host: MakeHost) -> None:
    host = make_host()
    old = await run(host, CACHED, text="1")
    current = await run(host, CACHED, text="2")
    collected = await manager_of(host).collect()
    assert [item.detail["run_id"] for item in cache_items(collected)] == [old]
    assert list((await cache_entries(data_of(host))).values()) == [current]
    assert cache_items(await manager_of(host).report()) == []
    tracker = host.port("dag_tracker")
    again = await tracker.wait(await tracker.execute(CACHED, {"text": "1"}))
    assert again.nodes["parse"].cached is False


async def test_a_dry_run_deletes_no_entry(make_host: MakeHost) -> None:
    host = make_host()
    await run(host, CACHED, text="1")
    await run(host, CACHED, text="2")
    before = await cache_entries(data_of(host))
    assert len(cache_items(await manager_of(host).collect(dry_run=True))) == 1
    assert await cache_entries(data_of(host)) == before


async def test_an_entry_computed_from_an_input_marked_stale_is_stale(make_host: MakeHost, tmp_path: Path) -> None:
    host = make_host()
    await run(host, CACHED, text="1")
    [(inputs,)] = execute_sql(tmp_path / "data" / "artifacts" / "index.db", "SELECT inputs FROM lineage")
    [source] = json.loads(inputs)  # the run's inputs, as the lineage names them
    await manager_of(host).mark_stale([ArtifactId(source)], "the upstream data was corrected")
    [item] = cache_items(await manager_of(host).report())
    assert item.reason == f"its input {source} was marked stale: the upstream data was corrected"
