"""The manager: durable marks, sources that fail reported beside those that work, options checked at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from symphony.hookspecs import ArtifactId, StaleItem, StaleSource, SymphonyError, ValidationError, hookimpl
from symphony.hookspecs.ports import HostContext

from .conftest import CACHED, DAY, MakeHost, age_run, manager_of, run

ARTIFACT = ArtifactId("sha256:" + "ab" * 32)


class Broken:
    """A plugin whose source fails to find, and one whose reclaim fails."""

    @hookimpl
    def symphony_stale_sources(self, context: HostContext) -> list[StaleSource]:
        def fail() -> list[StaleItem]:
            raise OSError("disk on fire")

        def refuse(items: list[StaleItem]) -> list[StaleItem]:
            raise PermissionError("read-only")

        temp = StaleItem(source="temp", kind="file", key="a.tmp", reason="a day old", size=3)
        return [
            StaleSource(name="broken", find=fail, reclaim=lambda items: items),
            StaleSource(name="temp", find=lambda: [temp], reclaim=refuse),
        ]


async def test_a_mark_is_durable_across_hosts(make_host: MakeHost) -> None:
    await manager_of(make_host()).mark_stale([ARTIFACT], "its input changed")
    manager = manager_of(make_host())
    assert await manager.is_stale(ARTIFACT)
    assert not await manager.is_stale(ArtifactId("sha256:" + "cd" * 32))


async def test_marking_a_malformed_id_marks_nothing_and_says_what_an_id_is(make_host: MakeHost) -> None:
    manager = manager_of(make_host())
    with pytest.raises(ValidationError, match="'sha256:' and 64 hex digits"):
        await manager.mark_stale([ARTIFACT, ArtifactId("nope")], "x")
    assert not await manager.is_stale(ARTIFACT)


async def test_a_report_writes_no_marks_database(make_host: MakeHost, tmp_path: Path) -> None:
    manager = manager_of(make_host())
    assert not await manager.is_stale(ARTIFACT)
    await manager.report()
    assert not (tmp_path / "data" / "stale.db").exists()


async def test_a_failing_source_is_reported_in_errors_while_the_others_still_report_and_reclaim(
    make_host: MakeHost,
) -> None:
    host = make_host(Broken(), stale={"runs": "1d"})
    run_id = await run(host, CACHED, text="1")
    await age_run(host, run_id, 2 * DAY)
    report = await manager_of(host).report()
    assert report.errors == {"broken": "OSError: disk on fire"}
    assert {(item.source, item.key) for item in report.items} == {("runs", run_id), ("temp", "a.tmp")}
    collected = await manager_of(host).collect()
    assert collected.errors == {"broken": "OSError: disk on fire", "temp": "PermissionError: read-only"}
    assert [(item.source, item.key) for item in collected.items] == [("runs", run_id)]


async def test_sweep_returns_how_many_items_were_reclaimed(make_host: MakeHost) -> None:
    host = make_host(stale={"runs": "1d"})
    for text in ("1", "2"):
        await age_run(host, await run(host, CACHED, text=text), 2 * DAY)
    assert await manager_of(host).sweep() == 3  # two runs, and the first cache entry (superseded by the second)
    assert await manager_of(host).sweep() == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"runs": "30 days"}, r"components\.stale\.options\.runs = '30 days' is not a duration"),
        ({"logs": -5}, r"components\.stale\.options\.logs = -5\.0 is negative: use a number of seconds"),
        ({"cache": "newest"}, r"components\.stale\.options\.cache = 'newest' is not a cache rule"),
        ({"schedule": True}, r"`components\.stale\.options\.schedule` = True: Expected `float \| str`"),
        ({"retain": "1d"}, r"Unknown setting `components\.stale\.options\.retain`; valid keys: cache, database"),
    ],
)
def test_a_bad_retention_setting_fails_the_host_load_naming_the_key_and_the_forms_accepted(
    make_host: MakeHost, options: dict[str, object], message: str
) -> None:
    with pytest.raises(SymphonyError, match=message):
        make_host(stale=options).port("stale_manager")
