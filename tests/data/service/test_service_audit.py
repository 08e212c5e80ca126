"""The audit log: one row per write with who, what, before and after, committed with the write or not at all."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from symphony.builtin_plugins.data.service import ServiceSettings, create_app
from symphony.hookspecs import DataRule, ValidationError

from .conftest import SPEC, Service


async def _audit(service: Service, **params: str) -> list[dict[str, Any]]:
    response = await service.call("admin", "GET", "/v1/audit", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_an_update_is_audited_with_its_author_and_before_and_after(service: Service) -> None:
    await service.add_user("ed", "editor")
    made = await service.add_workflow("ed")
    await service.call(
        "ed", "PUT", f"/v1/workflows/{made['id']}", json={"spec": SPEC, "expected_version": 1, "name": "new"}
    )
    newest = (await _audit(service, resource="workflow"))[0]
    assert (newest["actor"], newest["action"], newest["resource_id"]) == (service.ids["ed"], "update", made["id"])
    assert (newest["before"]["name"], newest["before"]["version"]) == ("flow", 1)
    assert (newest["after"]["name"], newest["after"]["version"]) == ("new", 2)


async def test_every_kind_of_write_leaves_one_audit_row(service: Service) -> None:
    viewer = await service.add_user("vi", "viewer")  # a user and its token: two writes
    made = await service.add_workflow("admin")
    path = f"/v1/workflows/{made['id']}"
    await service.call("admin", "PUT", path, json={"spec": SPEC, "expected_version": 1})
    await service.call("admin", "PUT", f"{path}/shares/{viewer}", json={"role": "viewer"})
    await service.call("admin", "DELETE", f"{path}/shares/{viewer}")
    await service.call("admin", "DELETE", path)
    actions = [(row["resource"], row["action"]) for row in reversed(await _audit(service, actor=service.ids["admin"]))]
    assert actions == [
        ("user", "create"),
        ("token", "create"),
        ("workflow", "create"),
        ("workflow", "update"),
        ("workflow", "share"),
        ("workflow", "unshare"),
        ("workflow", "delete"),
    ]


async def test_a_refused_write_leaves_no_audit_row(service: Service) -> None:
    before = await _audit(service)
    refused = await service.call("admin", "POST", "/v1/workflows", json={"name": "bad", "spec": {}})
    assert refused.status_code == 422
    assert await _audit(service) == before


async def test_a_rule_passed_to_the_app_refuses_writes_inside_the_transaction(service: Service) -> None:
    def no_drafts(action: str, record: Mapping[str, Any], before: Mapping[str, Any] | None) -> None:
        if record["name"].startswith("draft-"):
            raise ValidationError("Drafts stay local; rename the workflow.")

    rules = [DataRule(name="no-drafts", resource="workflow", check=no_drafts)]
    import httpx

    app = create_app(ServiceSettings(database=service.url), rules=rules)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://data") as client:
        headers = service.auth("admin")
        refused = await client.post("/v1/workflows", json={"name": "draft-1", "spec": {}}, headers=headers)
        accepted = await client.post("/v1/workflows", json={"name": "final", "spec": {}}, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["detail"] == "Drafts stay local; rename the workflow. (rule 'no-drafts')"
    assert accepted.status_code == 201  # the builtin spec rule is not in this app's rules
    assert [row["after"]["name"] for row in await _audit(service, resource="workflow")] == ["final"]


async def test_the_audit_log_pages_newest_first(service: Service) -> None:
    for number in range(5):
        await service.add_workflow("admin", f"w{number}")
    first = (await service.call("admin", "GET", "/v1/audit", params={"limit": 3, "resource": "workflow"})).json()
    second = (
        await service.call(
            "admin", "GET", "/v1/audit", params={"limit": 3, "resource": "workflow", "cursor": first["next_cursor"]}
        )
    ).json()
    names = [row["after"]["name"] for row in first["items"] + second["items"]]
    assert names == ["w4", "w3", "w2", "w1", "w0"]
    assert second["next_cursor"] is None
