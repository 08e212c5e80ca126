"""GrantStore over port permission_records: the same behaviour whichever keeps the records."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from symphony.hookspecs import ModelBudget
from symphony.hookspecs.ports import PermissionRecordsPort
from symphony.host import Host, Settings
from symphony.host.permissions import GrantStore, provided_records


def test_a_grant_is_read_back_by_another_store_over_the_same_records(records: PermissionRecordsPort) -> None:
    GrantStore(records).grant("ext", ["network:api.example.com", "model:gpt-4"], by="ann", budget=ModelBudget(calls=3))
    grants = {g.permission: g for g in GrantStore(records).grants("ext")}
    assert sorted(grants) == ["model:gpt-4", "network:api.example.com"]
    assert grants["model:gpt-4"].budget == ModelBudget(calls=3) and grants["network:api.example.com"].budget is None
    assert {g.granted_by for g in grants.values()} == {"ann"}


def test_granting_again_replaces_the_budget(records: PermissionRecordsPort) -> None:
    store = GrantStore(records)
    store.grant("ext", ["model:gpt-4"], budget=ModelBudget(calls=3))
    store.grant("ext", ["model:gpt-4"], budget=ModelBudget(tokens=10))
    [grant] = store.grants("ext")
    assert grant.budget == ModelBudget(tokens=10)


def test_revoke_answers_only_what_was_granted(records: PermissionRecordsPort) -> None:
    store = GrantStore(records)
    store.grant("ext", ["network:a.example.com", "network:b.example.com"])
    assert store.revoke("ext", ["network:a.example.com", "network:c.example.com"]) == ["network:a.example.com"]
    assert store.texts("ext") == ["network:b.example.com"]


def test_revoke_all_leaves_other_extensions_their_grants(records: PermissionRecordsPort) -> None:
    store = GrantStore(records)
    store.grant("one", ["system:processes"])
    store.grant("two", ["system:processes"])
    assert store.revoke_all("one") == ["system:processes"]
    assert store.texts("one") == [] and store.texts("two") == ["system:processes"]


def test_a_grant_by_another_store_is_noticed_by_refresh(records: PermissionRecordsPort) -> None:
    mine, other = GrantStore(records), GrantStore(records)
    before = mine.generation
    assert not mine.refresh()
    other.grant("ext", ["system:processes"])
    assert mine.refresh() and mine.generation == before + 1
    assert not mine.refresh()


def test_own_writes_are_not_reported_again_by_refresh(records: PermissionRecordsPort) -> None:
    store = GrantStore(records)
    store.grant("ext", ["system:processes"])
    store.trust("ext")
    assert not store.refresh()


def test_grants_of_another_distribution_do_not_count_and_are_pruned(records: PermissionRecordsPort) -> None:
    GrantStore(records, identify=lambda _name: "old-dist").grant("ext", ["system:processes"])
    GrantStore(records, identify=lambda _name: "old-dist").trust("ext")
    store = GrantStore(records, identify=lambda _name: "new-dist")
    assert store.grants("ext") == () and store.trusted() == frozenset()
    assert "'old-dist'" in store.replaced_note("ext")
    removed, untrusted = store.prune()
    assert [g.permission for g in removed["ext"]] == ["system:processes"] and list(untrusted) == ["ext"]
    assert store.all_grants() == {} and store.trust_marks() == {}


def test_a_trust_mark_counts_until_it_is_removed(records: PermissionRecordsPort) -> None:
    store = GrantStore(records)
    store.trust("ext", by="ann")
    assert store.trusted() == frozenset({"ext"})
    assert store.untrust("ext") and not store.untrust("ext")
    assert store.trusted() == frozenset()


def test_a_grant_made_by_another_process_through_the_data_service_is_noticed(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    host = Host(settings).load()
    try:
        records = provided_records(host)
        assert records is not None
        store = GrantStore(records)
        script = (
            "import sys; from pathlib import Path; from symphony.host import Host, Settings; "
            "from symphony.host.permissions import GrantStore, provided_records; "
            "host = Host(Settings(data_dir=Path(sys.argv[1]), cache_dir=Path(sys.argv[2]))).load(); "
            "GrantStore(provided_records(host)).grant('ext', ['system:processes'], by='other-process')"
        )
        subprocess.run(
            [sys.executable, "-c", script, str(settings.data_dir), str(settings.cache_dir)], check=True, timeout=120
        )
        assert store.refresh()
        assert [(g.permission, g.granted_by) for g in store.grants("ext")] == [("system:processes", "other-process")]
    finally:
        asyncio.run(host.stop())
