"""The ``runs`` source: finished runs past ``runs`` retention, logs past ``logs``; never a run still going."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from symphony.builtin_plugins.orchestra import plugin as orchestra_plugin
from symphony.builtin_plugins.pit.artifacts import plugin as artifacts_plugin
from symphony.builtin_plugins.pit.dag import plugin as dag_plugin
from symphony.builtin_plugins.pit.stale import plugin as stale_plugin
from symphony.hookspecs import StaleItem
from symphony.hookspecs.ports import RunUpdate, StaleReport
from symphony.host import Host, Settings

from .conftest import CACHED, DAY, MakeHost, age_run, data_of, execute_sql, keys, manager_of, run, run_ids, service_db


def runs_items(report: StaleReport) -> list[StaleItem]:
    return [item for item in report.items if item.source == "runs"]


async def test_a_finished_run_past_the_runs_retention_is_stale_and_a_recent_one_is_not(make_host: MakeHost) -> None:
    host = make_host(stale={"runs": "30d"})
    old, recent = await run(host, CACHED, text="1"), await run(host, CACHED, text="2")
    await age_run(host, old, 30 * DAY + 60)
    await age_run(host, recent, 30 * DAY - 60)
    report = await manager_of(host).report()
    assert keys(runs_items(report), "run") == [old]
    [item] = [i for i in report.items if i.key == old]
    assert "succeeded run" in item.reason and "runs = '30d'" in item.reason and item.size > 0


async def test_a_running_or_interrupted_run_is_never_stale_however_old(make_host: MakeHost, tmp_path: Path) -> None:
    host = make_host(stale={"runs": 0, "logs": 0})
    run_id = await run(host, CACHED, text="1")
    await data_of(host).update_run(run_id, RunUpdate(state="running", finished_at=None))
    execute_sql(service_db(tmp_path / "data"), "UPDATE runs SET created_at = 0 WHERE id = ?", run_id)
    assert runs_items(await manager_of(host).report()) == []


async def test_a_log_past_the_logs_retention_is_stale_while_its_run_is_kept(
    make_host: MakeHost, tmp_path: Path
) -> None:
    host = make_host(stale={"runs": "30d", "logs": "7d"})
    run_id = await run(host, CACHED, text="1")
    await age_run(host, run_id, 8 * DAY)
    [item] = runs_items(await manager_of(host).report())
    assert (item.kind, item.key) == ("log", run_id)
    await manager_of(host).collect()
    assert not (tmp_path / "data" / "runs" / f"{run_id}.log").exists()
    record = await data_of(host).get_run(run_id)
    assert record is not None and record.state == "succeeded"


async def test_a_log_whose_run_record_is_gone_is_stale_once_older_than_the_logs_retention(
    make_host: MakeHost, tmp_path: Path
) -> None:
    host = make_host(stale={"logs": "1h"})
    logs = tmp_path / "data" / "runs"
    logs.mkdir(parents=True)
    orphan, fresh = logs / "0123abcd.log", logs / "4567ef00.log"
    orphan.write_text("x\n")
    fresh.write_text("y\n")
    past = time.time() - 2 * 3600
    os.utime(orphan, (past, past))
    await run(host, CACHED, text="1")  # a recorded run, whose log is recent
    assert keys(runs_items(await manager_of(host).report()), "log") == ["0123abcd"]


async def test_an_old_log_of_a_run_still_recorded_and_not_finished_is_kept(make_host: MakeHost, tmp_path: Path) -> None:
    host = make_host(stale={"logs": "1h"})
    run_id = await run(host, CACHED, text="1")
    await data_of(host).update_run(run_id, RunUpdate(state="running", finished_at=None))  # interrupted
    log = tmp_path / "data" / "runs" / f"{run_id}.log"
    past = time.time() - 2 * 3600
    os.utime(log, (past, past))
    assert runs_items(await manager_of(host).report()) == []


async def test_gc_deletes_the_run_its_nodes_and_log_in_one_go_and_a_second_report_is_empty(
    make_host: MakeHost, tmp_path: Path
) -> None:
    host = make_host(stale={"runs": "1d"})
    run_id = await run(host, CACHED, text="1")
    await age_run(host, run_id, 2 * DAY)
    collected = await manager_of(host).collect()
    assert keys(runs_items(collected), "run") == [run_id]
    assert await data_of(host).get_run(run_id) is None
    database = service_db(tmp_path / "data")
    assert execute_sql(database, "SELECT count(*) FROM run_nodes WHERE run_id = ?", run_id) == [(0,)]
    assert not (tmp_path / "data" / "runs" / f"{run_id}.log").exists()
    assert runs_items(await manager_of(host).report()) == []


async def test_a_dry_run_changes_nothing(make_host: MakeHost, tmp_path: Path) -> None:
    host = make_host(stale={"runs": "1d"})
    run_id = await run(host, CACHED, text="1")
    await age_run(host, run_id, 2 * DAY)
    data = data_of(host)
    before = await run_ids(data), await data.run_nodes(run_id)
    dry = await manager_of(host).collect(dry_run=True)
    assert dry.dry_run and keys(runs_items(dry), "run") == [run_id]
    assert (await run_ids(data), await data.run_nodes(run_id)) == before
    assert (tmp_path / "data" / "runs" / f"{run_id}.log").exists()


async def test_a_run_resumed_between_report_and_gc_is_not_deleted(make_host: MakeHost) -> None:
    host = make_host(stale={"runs": "1d"})
    run_id = await run(host, CACHED, text="1")
    await age_run(host, run_id, 2 * DAY)
    found = await manager_of(host).report()
    data = data_of(host)
    await data.update_run(run_id, RunUpdate(state="running", finished_at=None))  # what a resume does to the record
    source = host.contributions("symphony_stale_sources")["runs"][1]
    assert await source.reclaim(runs_items(found)) == []
    record = await data.get_run(run_id)
    assert record is not None and record.state == "running"


async def test_a_run_finished_again_recently_between_report_and_gc_is_not_deleted(make_host: MakeHost) -> None:
    host = make_host(stale={"runs": "1d"})
    run_id = await run(host, CACHED, text="1")
    await age_run(host, run_id, 2 * DAY)
    found = await manager_of(host).report()
    await age_run(host, run_id, 60)  # resumed and finished again since the report
    source = host.contributions("symphony_stale_sources")["runs"][1]
    assert await source.reclaim(runs_items(found)) == []
    assert await data_of(host).get_run(run_id) is not None


async def test_a_log_whose_run_was_resumed_between_report_and_gc_is_kept(make_host: MakeHost, tmp_path: Path) -> None:
    host = make_host(stale={"runs": "30d", "logs": "7d"})
    run_id = await run(host, CACHED, text="1")
    await age_run(host, run_id, 8 * DAY)
    found = await manager_of(host).report()
    await data_of(host).update_run(run_id, RunUpdate(state="running", finished_at=None))
    source = host.contributions("symphony_stale_sources")["runs"][1]
    assert await source.reclaim(runs_items(found)) == []
    assert (tmp_path / "data" / "runs" / f"{run_id}.log").exists()


async def test_gc_deletes_more_runs_than_one_request_may_name(make_host: MakeHost, tmp_path: Path) -> None:
    host = make_host(stale={"runs": "1d"})
    run_id = await run(host, CACHED, text="1")
    await age_run(host, run_id, 2 * DAY)
    database = service_db(tmp_path / "data")
    with sqlite3.connect(database) as connection:  # copies of the run under other ids, every column but the id
        columns = ", ".join(row[1] for row in connection.execute("PRAGMA table_info(runs)") if row[1] != "id")
        connection.executemany(
            f"INSERT INTO runs (id, {columns}) SELECT ?, {columns} FROM runs WHERE id = ?",
            [(f"copy{copy:04d}", run_id) for copy in range(1200)],
        )
    assert len(runs_items(await manager_of(host).collect())) == 1201
    assert await run_ids(data_of(host)) == []


async def test_without_a_data_service_the_dag_sources_find_nothing_and_fail_nothing(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        cache_dir=tmp_path / "cache",
        components={"stale": {"options": {"runs": 0, "logs": 0, "cache": 0}}},
    )
    plugins = (dag_plugin, orchestra_plugin, artifacts_plugin, stale_plugin)  # no data plugin: runs are not recorded
    host = Host(settings, plugins=plugins, discover_plugins=False).load()
    await run(host, CACHED, text="1")
    report = await manager_of(host).report()
    assert report.errors == {}
    assert [item for item in report.items if item.source in ("runs", "node-cache")] == []
