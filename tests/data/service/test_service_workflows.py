"""Workflows: versions, optimistic concurrency, sharing, the builtin rules and pagination."""

from __future__ import annotations

import asyncio

from .conftest import SPEC, Service, make_client


async def test_an_update_from_a_stale_version_is_a_409_conflict_and_changes_nothing(service: Service) -> None:
    await service.add_user("ed", "editor")
    made = await service.add_workflow("ed")
    path = f"/v1/workflows/{made['id']}"
    assert (await service.call("ed", "PUT", path, json={"spec": SPEC, "expected_version": 1})).status_code == 200
    stale = await service.call("ed", "PUT", path, json={"spec": {**SPEC, "name": "late"}, "expected_version": 1})
    assert stale.status_code == 409
    assert stale.json()["category"] == "data.validation"
    assert "at version 2, not 1" in stale.json()["detail"]
    assert (await service.call("ed", "GET", path)).json()["version"] == 2


async def test_concurrent_writers_from_one_version_lose_no_update(service: Service) -> None:
    """Twenty writers each read, then write from what they read, retrying on 409: all twenty versions land."""
    await service.add_user("ed", "editor")
    made = await service.add_workflow("ed")
    path = f"/v1/workflows/{made['id']}"
    conflicts = 0

    async def writer(client_number: int) -> None:
        nonlocal conflicts
        async with make_client(service.url) as client:
            headers = service.auth("ed")
            while True:
                current = (await client.get(path, headers=headers)).json()
                spec = {
                    **current["spec"],
                    "outputs": {**current["spec"].get("outputs", {}), f"w{client_number}": "n.p"},
                }
                body = {"spec": spec, "expected_version": current["version"]}
                answer = await client.put(path, json=body, headers=headers)
                if answer.status_code == 200:
                    return
                assert answer.status_code == 409, answer.text
                conflicts += 1

    await asyncio.gather(*(writer(number) for number in range(20)))
    final = (await service.call("ed", "GET", path)).json()
    assert final["version"] == 21
    assert set(final["spec"]["outputs"]) == {f"w{number}" for number in range(20)}
    versions = (await service.call("ed", "GET", f"{path}/versions", params={"limit": 100})).json()["items"]
    assert [v["version"] for v in versions] == list(range(1, 22))


async def test_every_version_stays_readable(service: Service) -> None:
    await service.add_user("ed", "editor")
    made = await service.add_workflow("ed")
    path = f"/v1/workflows/{made['id']}"
    await service.call(
        "ed", "PUT", path, json={"spec": {**SPEC, "name": "v2"}, "expected_version": 1, "name": "renamed"}
    )
    first = (await service.call("ed", "GET", f"{path}/versions/1")).json()
    second = (await service.call("ed", "GET", f"{path}/versions/2")).json()
    assert (first["name"], first["spec"]["name"]) == ("flow", "hello")
    assert (second["name"], second["spec"]["name"]) == ("renamed", "v2")
    missing = await service.call("ed", "GET", f"{path}/versions/3")
    assert missing.status_code == 404
    assert "at version 2" in missing.json()["detail"]


async def test_a_spec_that_is_not_a_workflow_is_refused_by_the_builtin_rule(service: Service) -> None:
    await service.add_user("ed", "editor")
    refused = await service.call("ed", "POST", "/v1/workflows", json={"name": "bad", "spec": {"nodes": 3}})
    assert refused.status_code == 422
    assert refused.json()["category"] == "data.validation"
    assert "rule 'workflow-spec'" in refused.json()["detail"]
    assert (await service.call("ed", "GET", "/v1/workflows")).json()["items"] == []


async def test_a_second_workflow_with_the_same_name_and_owner_is_refused(service: Service) -> None:
    await service.add_user("ed", "editor")
    await service.add_user("ed2", "editor")
    await service.add_workflow("ed", "same")
    again = await service.call("ed", "POST", "/v1/workflows", json={"name": "same", "spec": SPEC})
    assert again.status_code == 422
    assert "already exists for this owner" in again.json()["detail"]
    assert (await service.call("ed2", "POST", "/v1/workflows", json={"name": "same", "spec": SPEC})).status_code == 201


async def test_deleting_a_workflow_removes_its_versions_and_shares(service: Service) -> None:
    await service.add_user("ed", "editor")
    viewer = await service.add_user("vi", "viewer")
    made = await service.add_workflow("ed")
    path = f"/v1/workflows/{made['id']}"
    await service.call("ed", "PUT", f"{path}/shares/{viewer}", json={"role": "viewer"})
    assert (await service.call("vi", "GET", path)).status_code == 200
    assert (await service.call("ed", "DELETE", path)).status_code == 204
    assert (await service.call("vi", "GET", path)).status_code == 404
    assert (await service.call("admin", "GET", f"{path}/versions")).status_code == 404


async def test_unsharing_withdraws_a_users_access(service: Service) -> None:
    await service.add_user("ed", "editor")
    viewer = await service.add_user("vi", "viewer")
    made = await service.add_workflow("ed")
    share = f"/v1/workflows/{made['id']}/shares/{viewer}"
    await service.call("ed", "PUT", share, json={"role": "viewer"})
    assert (await service.call("ed", "DELETE", share)).status_code == 204
    assert (await service.call("vi", "GET", f"/v1/workflows/{made['id']}")).status_code == 404
    assert (await service.call("ed", "DELETE", share)).status_code == 404


async def test_listing_pages_through_every_workflow_once(service: Service) -> None:
    await service.add_user("ed", "editor")
    made = {(await service.add_workflow("ed", f"w{number}"))["id"] for number in range(7)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await service.call("ed", "GET", "/v1/workflows", params=params)).json()
        assert len(page["items"]) <= 3
        seen += [item["id"] for item in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert sorted(seen) == sorted(made)


async def test_a_page_larger_than_the_maximum_is_refused(service: Service) -> None:
    refused = await service.call("admin", "GET", "/v1/workflows", params={"limit": 201})
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("limit must be a whole number from 1 to 200")
