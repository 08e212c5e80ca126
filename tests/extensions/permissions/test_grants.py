"""The grant store: separate from declarations, persisted, with metadata, shared across processes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from symphony.hookspecs import ModelBudget, PermissionSyntaxError
from symphony.host.permissions import GrantStore


def test_grant_and_revoke_round_trip(tmp_path: Path) -> None:
    store = GrantStore(tmp_path / "p.db")
    store.grant("ext", ["file:read:/data/**", "network:api.example.com:443"])
    assert [g.permission for g in store.grants("ext")] == ["file:read:/data/**", "network:api.example.com:443"]
    assert store.revoke("ext", ["file:read:/data/**"]) == ["file:read:/data/**"]
    assert [g.permission for g in store.grants("ext")] == ["network:api.example.com:443"]


def test_a_grant_records_when_by_whom_and_how(tmp_path: Path) -> None:
    store = GrantStore(tmp_path / "p.db")
    [grant] = store.grant("ext", ["system:processes"], by="alice", source="symphony ext grant")
    assert (grant.granted_by, grant.source) == ("alice", "symphony ext grant")
    assert grant.granted_at > 0


def test_texts_are_stored_one_target_each_in_canonical_form(tmp_path: Path) -> None:
    from symphony.hookspecs import NetworkAccess

    store = GrantStore(tmp_path / "p.db")
    store.grant("ext", [NetworkAccess(hosts=("a.example.com", "b.example.com")), " model:gpt-4"])
    assert store.texts("ext") == ["model:gpt-4", "network:a.example.com", "network:b.example.com"]  # by permission


def test_regranting_replaces_metadata_instead_of_duplicating(tmp_path: Path) -> None:
    store = GrantStore(tmp_path / "p.db")
    store.grant("ext", ["model:gpt-4"], budget=ModelBudget(calls=1))
    store.grant("ext", ["model:gpt-4"], budget=ModelBudget(tokens=500))
    [grant] = store.grants("ext")
    assert grant.budget == ModelBudget(tokens=500)


def test_a_budget_applies_only_to_model_grants(tmp_path: Path) -> None:
    store = GrantStore(tmp_path / "p.db")
    granted = store.grant("ext", ["model:gpt-4", "system:processes"], budget=ModelBudget(calls=3))
    assert [g.budget for g in granted] == [ModelBudget(calls=3), None]


def test_revoking_what_was_not_granted_returns_nothing(tmp_path: Path) -> None:
    store = GrantStore(tmp_path / "p.db")
    assert store.revoke("ext", ["system:devices"]) == []


@pytest.mark.parametrize("text", ["file:reed:/x", "network", "system:root", "disk:/x"])
def test_malformed_permission_text_is_refused_with_the_accepted_forms(tmp_path: Path, text: str) -> None:
    store = GrantStore(tmp_path / "p.db")
    with pytest.raises(PermissionSyntaxError, match=re.escape("Accepted forms: file:<read|write|execute|admin>")):
        store.grant("ext", [text])
    assert store.grants("ext") == ()


def test_grants_persist_across_processes(tmp_path: Path) -> None:
    database = tmp_path / "p.db"
    code = (
        "import sys; from pathlib import Path; from symphony.host.permissions import GrantStore; "
        "GrantStore(Path(sys.argv[1])).grant('ext', ['file:write:data', 'model:*'], by='other-process')"
    )
    subprocess.run([sys.executable, "-c", code, str(database)], check=True, timeout=60)
    grants = GrantStore(database).grants("ext")
    assert [(g.permission, g.granted_by) for g in grants] == [
        ("file:write:data", "other-process"),
        ("model:*", "other-process"),
    ]


def test_refresh_notices_a_grant_made_by_another_process(tmp_path: Path) -> None:
    database = tmp_path / "p.db"
    store = GrantStore(database)
    assert not store.refresh()
    code = (
        "import sys; from pathlib import Path; from symphony.host.permissions import GrantStore; "
        "GrantStore(Path(sys.argv[1])).grant('ext', ['system:processes'])"
    )
    subprocess.run([sys.executable, "-c", code, str(database)], check=True, timeout=60)
    before = store.generation
    assert store.refresh() and store.generation == before + 1
    assert not store.refresh()


def test_trust_marks_are_stored_apart_from_grants(tmp_path: Path) -> None:
    store = GrantStore(tmp_path / "p.db")
    store.trust("ext")
    assert store.trusted() == {"ext"} and store.grants("ext") == ()
    assert store.untrust("ext") and not store.untrust("ext")


def test_an_unwritable_database_location_is_a_configuration_error(tmp_path: Path) -> None:
    from symphony.hookspecs import ConfigurationError

    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigurationError, match=re.escape("Set `permissions.database`")):
        GrantStore(blocker / "p.db")
