"""The permissions routes: grants, trust marks, the version counter and the decision audit, each identity's own."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Service

GRANT: dict[str, Any] = {
    "extension": "ext.a",
    "permission": "file:read:/data/**",
    "granted_at": 1.5,
    "granted_by": "ada",
    "source": "symphony ext grant",
}
DECISION: dict[str, Any] = {
    "at": 2.0,
    "extension": "ext.a",
    "kind": "file",
    "permission": "file:read:/data/**",
    "target": "/data/x",
    "decision": "denied",
    "rule": "no grant",
    "reason": "not granted",
}


async def _ok(service: Service, who: str, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
    response = await service.call(who, method, path, **kwargs)
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def _version(service: Service, who: str) -> int:
    version: int = (await _ok(service, who, "GET", "/v1/permissions/version"))["version"]
    return version


async def test_a_grant_is_listed_with_its_metadata_and_budget(service: Service) -> None:
    model = {**GRANT, "permission": "model:gpt", "budget": {"calls": 3, "tokens": None, "cost": 1.5}, "identity": "d1"}
    await _ok(service, "admin", "PUT", "/v1/permissions/grants", 204, json={"grants": [GRANT, model]})
    listed = await _ok(service, "admin", "GET", "/v1/permissions/grants")
    assert listed["items"] == [{**GRANT, "budget": None, "identity": None}, model]  # by extension, then permission
    assert listed["next_cursor"] is None


async def test_granting_again_replaces_the_metadata_of_the_same_permission(service: Service) -> None:
    await _ok(service, "admin", "PUT", "/v1/permissions/grants", 204, json={"grants": [GRANT]})
    again = {**GRANT, "granted_at": 9.0, "source": "api"}
    await _ok(service, "admin", "PUT", "/v1/permissions/grants", 204, json={"grants": [again]})
    listed = await _ok(service, "admin", "GET", "/v1/permissions/grants", params={"extension": "ext.a"})
    assert [(g["granted_at"], g["source"]) for g in listed["items"]] == [(9.0, "api")]


async def test_every_grant_or_trust_change_moves_the_version_and_a_no_op_withdrawal_does_not(
    service: Service,
) -> None:
    assert await _version(service, "admin") == 0
    await _ok(service, "admin", "PUT", "/v1/permissions/grants", 204, json={"grants": [GRANT]})
    assert await _version(service, "admin") == 1
    mark = {"extension": "ext.a", "trusted_at": 1.0, "trusted_by": "ada"}
    await _ok(service, "admin", "PUT", "/v1/permissions/trust", 204, json=mark)
    assert await _version(service, "admin") == 2
    body = {"extension": "ext.a", "permissions": ["file:read:/elsewhere"]}
    assert (await _ok(service, "admin", "POST", "/v1/permissions/grants/revoke", json=body))["revoked"] == []
    assert (await _ok(service, "admin", "DELETE", "/v1/permissions/trust/ext.b"))["removed"] is False
    assert await _version(service, "admin") == 2
    assert (await _ok(service, "admin", "POST", "/v1/permissions/grants/revoke", json={"extension": "ext.a"}))[
        "revoked"
    ] == [GRANT["permission"]]
    assert (await _ok(service, "admin", "DELETE", "/v1/permissions/trust/ext.a"))["removed"] is True
    assert await _version(service, "admin") == 4


async def test_one_identity_neither_sees_nor_changes_anothers_records(service: Service) -> None:
    await service.add_user("ed", "editor")
    await service.add_user("ed2", "editor")
    await _ok(service, "ed", "PUT", "/v1/permissions/grants", 204, json={"grants": [GRANT]})
    await _ok(service, "ed", "POST", "/v1/permissions/decisions", 204, json={"decisions": [DECISION]})
    assert (await _ok(service, "ed2", "GET", "/v1/permissions/grants"))["items"] == []
    assert (await _ok(service, "ed2", "GET", "/v1/permissions/decisions"))["items"] == []
    revoked = await _ok(service, "ed2", "POST", "/v1/permissions/grants/revoke", json={"extension": "ext.a"})
    assert revoked["revoked"] == []
    assert len((await _ok(service, "ed", "GET", "/v1/permissions/grants"))["items"]) == 1
    assert await _version(service, "ed2") == 0
    owner = {"owner": service.ids["ed"]}
    refused = await service.call("ed2", "GET", "/v1/permissions/grants", params=owner)
    assert refused.status_code == 403
    assert len((await _ok(service, "admin", "GET", "/v1/permissions/grants", params=owner))["items"]) == 1


async def test_a_viewer_may_withdraw_but_not_grant_or_trust(service: Service) -> None:
    await service.add_user("vi", "viewer")
    refused = await service.call("vi", "PUT", "/v1/permissions/grants", json={"grants": [GRANT]})
    assert refused.status_code == 403
    assert "viewer may not grant" in refused.json()["detail"]
    mark = {"extension": "ext.a", "trusted_at": 1.0, "trusted_by": "vi"}
    assert (await service.call("vi", "PUT", "/v1/permissions/trust", json=mark)).status_code == 403
    await _ok(service, "vi", "POST", "/v1/permissions/grants/revoke", json={"extension": "ext.a"})
    await _ok(service, "vi", "DELETE", "/v1/permissions/trust/ext.a")
    await _ok(service, "vi", "POST", "/v1/permissions/decisions", 204, json={"decisions": [DECISION]})


async def test_decisions_are_listed_newest_first_and_filtered(service: Service) -> None:
    decisions = [
        {**DECISION, "at": 1.0, "decision": "allowed", "run_id": "r1"},
        {**DECISION, "at": 2.0, "extension": "ext.b"},
        {**DECISION, "at": 3.0, "run_id": "r1", "mode": "learn"},
    ]
    await _ok(service, "admin", "POST", "/v1/permissions/decisions", 204, json={"decisions": decisions})

    async def ats(**query: str) -> list[float]:
        page = await _ok(service, "admin", "GET", "/v1/permissions/decisions", params=query)
        return [item["at"] for item in page["items"]]

    assert await ats() == [3.0, 2.0, 1.0]
    assert await ats(extension="ext.a") == [3.0, 1.0]
    assert await ats(decision="denied") == [3.0, 2.0]
    assert await ats(run_id="r1", decision="allowed") == [1.0]
    first = await _ok(service, "admin", "GET", "/v1/permissions/decisions", params={"limit": "2"})
    rest = await _ok(service, "admin", "GET", "/v1/permissions/decisions", params={"cursor": first["next_cursor"]})
    assert [item["at"] for item in first["items"] + rest["items"]] == [3.0, 2.0, 1.0]


async def test_grants_are_paged_in_extension_and_permission_order(service: Service) -> None:
    grants = [{**GRANT, "extension": f"ext.{n % 3}", "permission": f"file:read:/{n}"} for n in range(7)]
    await _ok(service, "admin", "PUT", "/v1/permissions/grants", 204, json={"grants": grants})
    seen: list[tuple[str, str]] = []
    query: dict[str, str] = {"limit": "3"}
    while True:
        page = await _ok(service, "admin", "GET", "/v1/permissions/grants", params=query)
        seen += [(item["extension"], item["permission"]) for item in page["items"]]
        if page["next_cursor"] is None:
            break
        query["cursor"] = page["next_cursor"]
    assert seen == sorted((g["extension"], g["permission"]) for g in grants)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/permissions/grants", {"grants": [GRANT] * 1001}),
        ("/v1/permissions/decisions", {"decisions": [DECISION] * 1001}),
        ("/v1/permissions/decisions", {"decisions": [{**DECISION, "decision": "maybe"}]}),
        ("/v1/permissions/grants", {"grants": [{**GRANT, "extension": ""}]}),
    ],
)
async def test_an_oversized_batch_or_a_malformed_record_is_refused_and_nothing_is_stored(
    service: Service, path: str, body: dict[str, Any]
) -> None:
    method = "PUT" if path.endswith("grants") else "POST"
    response = await service.call("admin", method, path, json=body)
    assert response.status_code == 422, response.text
    assert (await _ok(service, "admin", "GET", path))["items"] == []


async def test_a_malformed_cursor_or_filter_is_a_validation_problem(service: Service) -> None:
    for path, query in (
        ("/v1/permissions/grants", {"cursor": "nonsense"}),
        ("/v1/permissions/decisions", {"cursor": "x"}),
        ("/v1/permissions/decisions", {"decision": "maybe"}),
        ("/v1/permissions/decisions", {"limit": "1001"}),
    ):
        response = await service.call("admin", "GET", path, params=query)
        assert response.status_code == 422, (path, query, response.text)


async def test_grant_and_trust_changes_are_in_the_audit_log_and_decisions_are_not(service: Service) -> None:
    await _ok(service, "admin", "PUT", "/v1/permissions/grants", 204, json={"grants": [GRANT]})
    mark = {"extension": "ext.a", "trusted_at": 1.0, "trusted_by": "ada"}
    await _ok(service, "admin", "PUT", "/v1/permissions/trust", 204, json=mark)
    await _ok(service, "admin", "POST", "/v1/permissions/grants/revoke", json={"extension": "ext.a"})
    await _ok(service, "admin", "POST", "/v1/permissions/decisions", 204, json={"decisions": [DECISION]})
    entries = (await _ok(service, "admin", "GET", "/v1/audit", params={"resource": "permissions"}))["items"]
    assert [entry["action"] for entry in entries] == ["revoke", "trust", "grant"]
    assert entries[2]["after"] == {
        "extension": "ext.a",
        "permissions": [GRANT["permission"]],
        "sources": [GRANT["source"]],
    }
    assert all(entry["actor"] == service.ids["admin"] for entry in entries)
