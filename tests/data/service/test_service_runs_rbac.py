"""Who may do what to runs and the node cache: role x (own run, someone else's) x operation.

A run belongs to the identity that created it; admins and service identities read and change any run;
editors create runs and read and change their own; viewers read their own only (a viewer owns runs only
if it was demoted after starting them).  Someone else's run is invisible (404) to those who may not read it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, update

from symphony.builtin_plugins.data.service.db import normalize_url
from symphony.builtin_plugins.data.service.models import User

from .conftest import Service
from .test_service_runs import new_run, node


def _set_role(url: str, user_id: str, role: str) -> None:
    """Demote or promote a user (there is no route for it yet; an admin would do it in the database)."""
    engine = create_engine(normalize_url(url))
    try:
        with engine.begin() as connection:
            connection.execute(update(User).where(User.id == user_id).values(role=role))
    finally:
        engine.dispose()


# read, list (is it listed?), change (PATCH), save checkpoints, read checkpoints, delete (is it deleted?)
MATRIX: dict[str, dict[str, tuple[object, ...]]] = {
    "admin": dict.fromkeys(("own", "other"), (200, True, 204, 204, 200, True)),
    "service": dict.fromkeys(("own", "other"), (200, True, 204, 204, 200, True)),
    "editor": {"own": (200, True, 204, 204, 200, True), "other": (404, False, 404, 404, 404, False)},
    "viewer": {"own": (200, True, 403, 403, 200, 403), "other": (404, False, 404, 404, 404, 403)},
}


@pytest.mark.parametrize("relation", ["own", "other"])
@pytest.mark.parametrize("role", ["admin", "editor", "viewer", "service"])
async def test_rbac_matrix_of_role_and_relation_to_the_run(service: Service, role: str, relation: str) -> None:
    caller = await service.add_user("caller", role if role != "viewer" else "editor")
    await service.add_user("owner", "editor")
    starter = "caller" if relation == "own" else "owner"
    made = await service.call(starter, "POST", "/v1/runs", json=new_run("run0001"))
    assert made.status_code == 201, made.text
    finished = {"state": "succeeded", "finished_at": 10.0}
    assert (await service.call(starter, "PATCH", "/v1/runs/run0001", json=finished)).status_code == 204
    if role == "viewer":
        _set_role(service.url, caller, "viewer")
    listed = (await service.call("caller", "GET", "/v1/runs")).json()["items"]
    got: list[object] = [
        (await service.call("caller", "GET", "/v1/runs/run0001")).status_code,
        [item["id"] for item in listed] == ["run0001"],
        (await service.call("caller", "PATCH", "/v1/runs/run0001", json={"cancel_requested": True})).status_code,
        (await service.call("caller", "PUT", "/v1/runs/run0001/nodes", json={"nodes": [node("a")]})).status_code,
        (await service.call("caller", "GET", "/v1/runs/run0001/nodes")).status_code,
    ]
    deleted = await service.call(
        "caller", "POST", "/v1/runs/delete", json={"run_ids": ["run0001"], "finished_before": 20.0}
    )
    got.append(deleted.json()["deleted"] == ["run0001"] if deleted.status_code == 200 else deleted.status_code)
    assert tuple(got) == MATRIX[role][relation]


@pytest.mark.parametrize("role", ["admin", "editor", "service"])
async def test_those_who_may_start_runs_may_read_the_node_cache(service: Service, role: str) -> None:
    await service.add_user("caller", role)
    await service.call("admin", "POST", "/v1/runs", json=new_run("run0001"))
    await service.call("admin", "PUT", "/v1/runs/run0001/nodes", json={"nodes": [node("a", cache_key="k")]})
    assert (await service.call("caller", "GET", "/v1/node-cache/k")).status_code == 200
    assert [item["key"] for item in (await service.call("caller", "GET", "/v1/node-cache")).json()["items"]] == ["k"]


async def test_a_viewer_may_not_read_the_node_cache(service: Service) -> None:
    await service.add_user("vi", "viewer")
    assert (await service.call("vi", "GET", "/v1/node-cache")).status_code == 403


@pytest.mark.parametrize(("role", "status"), [("admin", 204), ("service", 204), ("editor", 403), ("viewer", 403)])
async def test_only_admins_and_services_delete_cache_entries(service: Service, role: str, status: int) -> None:
    await service.add_user("caller", role)
    await service.call("admin", "POST", "/v1/runs", json=new_run("run0001"))
    await service.call("admin", "PUT", "/v1/runs/run0001/nodes", json={"nodes": [node("a", cache_key="k")]})
    response = await service.call("caller", "POST", "/v1/node-cache/delete", json={"keys": ["k"]})
    assert response.status_code == status
    remaining = (await service.call("admin", "GET", "/v1/node-cache/k")).status_code
    assert remaining == (404 if status == 204 else 200)


async def test_copying_needs_read_on_the_source_and_change_on_the_target(service: Service) -> None:
    await service.add_user("ed", "editor")
    await service.add_user("ed2", "editor")
    await service.call("ed2", "POST", "/v1/runs", json=new_run("theirs01"))
    await service.call("ed2", "PUT", "/v1/runs/theirs01/nodes", json={"nodes": [node("a")]})
    await service.call("ed", "POST", "/v1/runs", json=new_run("mine0001"))
    stolen = await service.call(
        "ed", "POST", "/v1/runs/mine0001/nodes/copy", json={"source": "theirs01", "node_ids": ["a"]}
    )
    assert stolen.status_code == 404
    assert (await service.call("ed", "GET", "/v1/runs/mine0001/nodes")).json() == []


async def test_an_editor_does_not_see_anothers_run_through_a_prefix(service: Service) -> None:
    await service.add_user("ed", "editor")
    await service.add_user("ed2", "editor")
    await service.call("ed2", "POST", "/v1/runs", json=new_run("abcd0001"))
    await service.call("ed", "POST", "/v1/runs", json=new_run("abcd0002"))
    found = await service.call("ed", "GET", "/v1/runs/abcd")
    assert found.status_code == 200 and found.json()["id"] == "abcd0002"
