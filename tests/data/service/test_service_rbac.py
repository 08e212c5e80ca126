"""Authorization on every route: anonymous callers get 401, under-privileged ones 403 (or 404 where the
resource must stay invisible), and the role x route x relation matrix holds."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.routing import Route

from .conftest import SPEC, Service

#: A run as the tracker starts it (documents are base64 MessagePack).
RUN = {
    "id": "run-ed2",
    "workflow_id": "w",
    "workflow_name": "w",
    "document": "gA==",
    "inputs": "gA==",
    "nodes_total": 1,
}


async def _world(service: Service) -> dict[str, str]:
    """ed2 owns a workflow and a run shared with nobody; vi is a viewer, ed an editor, svc a service identity."""
    for name, role in (("ed", "editor"), ("ed2", "editor"), ("vi", "viewer"), ("svc", "service"), ("gone", "viewer")):
        await service.add_user(name, role)
    workflow = await service.add_workflow("ed2")
    run = await service.call("ed2", "POST", "/v1/runs", json=RUN)
    assert run.status_code == 201, run.text
    node = {"node_id": "a", "state": "succeeded", "cache_key": "key-a"}
    assert (await service.call("ed2", "PUT", "/v1/runs/run-ed2/nodes", json={"nodes": [node]})).status_code == 204
    tokens = (await service.call("ed2", "GET", "/v1/tokens")).json()["items"]
    gone_tokens = (await service.call("gone", "GET", "/v1/tokens")).json()["items"]
    revoked = await service.call("gone", "DELETE", f"/v1/tokens/{gone_tokens[0]['id']}")
    assert revoked.status_code == 204
    return {
        "workflow_id": workflow["id"],
        "user_id": service.ids["ed2"],
        "token_id": tokens[0]["id"],
        "version": "1",
        "run_id": "run-ed2",
        "key": "key-a",
        "extension": "ext.a",
    }


#: For each route: who tries it (under-privileged), with which body, and the refusal they get.
UNDER_PRIVILEGED: dict[tuple[str, str], tuple[str, dict[str, Any] | None, int]] = {
    ("GET", "/v1/me"): ("gone", None, 401),  # every identity may read itself: only a revoked token is refused
    ("POST", "/v1/users"): ("ed", {"name": "x", "email": "x@x.org", "role": "admin"}, 403),
    ("GET", "/v1/users"): ("ed", None, 403),
    ("GET", "/v1/users/{user_id}"): ("vi", None, 403),
    ("POST", "/v1/tokens"): ("vi", {"name": "steal", "user_id": "{user_id}"}, 403),
    ("GET", "/v1/tokens"): ("vi", None, 403),
    ("DELETE", "/v1/tokens/{token_id}"): ("vi", None, 404),
    ("POST", "/v1/workflows"): ("vi", {"name": "mine", "spec": SPEC}, 403),
    ("GET", "/v1/workflows"): ("gone", None, 401),
    ("GET", "/v1/workflows/{workflow_id}"): ("vi", None, 404),
    ("PUT", "/v1/workflows/{workflow_id}"): ("ed", {"spec": SPEC, "expected_version": 1}, 404),
    ("DELETE", "/v1/workflows/{workflow_id}"): ("ed", None, 404),
    ("GET", "/v1/workflows/{workflow_id}/versions"): ("vi", None, 404),
    ("GET", "/v1/workflows/{workflow_id}/versions/{version}"): ("vi", None, 404),
    ("PUT", "/v1/workflows/{workflow_id}/shares/{user_id}"): ("svc", {"role": "viewer"}, 403),
    ("DELETE", "/v1/workflows/{workflow_id}/shares/{user_id}"): ("ed", None, 404),
    ("GET", "/v1/audit"): ("ed", None, 403),
    ("POST", "/v1/runs"): ("vi", {**RUN, "id": "run-vi"}, 403),
    ("GET", "/v1/runs"): ("gone", None, 401),
    ("POST", "/v1/runs/delete"): ("vi", {"run_ids": ["{run_id}"], "finished_before": 1e12}, 403),
    ("GET", "/v1/runs/{run_id}"): ("ed", None, 404),
    ("PATCH", "/v1/runs/{run_id}"): ("ed", {"cancel_requested": True}, 404),
    ("PUT", "/v1/runs/{run_id}/nodes"): ("ed", {"nodes": []}, 404),
    ("GET", "/v1/runs/{run_id}/nodes"): ("vi", None, 404),
    ("POST", "/v1/runs/{run_id}/nodes/copy"): ("ed", {"source": "{run_id}", "node_ids": ["a"]}, 404),
    ("GET", "/v1/node-cache"): ("vi", None, 403),
    ("POST", "/v1/node-cache/delete"): ("ed", {"keys": ["{key}"]}, 403),
    ("GET", "/v1/node-cache/{key}"): ("vi", None, 403),
    ("GET", "/v1/permissions/grants"): ("vi", None, 403),  # another's records (?owner=); one's own are always readable
    ("PUT", "/v1/permissions/grants"): ("vi", {"grants": []}, 403),
    ("POST", "/v1/permissions/grants/revoke"): ("gone", {"extension": "{extension}"}, 401),
    ("GET", "/v1/permissions/trust"): ("vi", None, 403),
    ("PUT", "/v1/permissions/trust"): ("vi", {"extension": "{extension}", "trusted_at": 1, "trusted_by": "vi"}, 403),
    ("DELETE", "/v1/permissions/trust/{extension}"): ("gone", None, 401),
    ("GET", "/v1/permissions/version"): ("vi", None, 403),
    ("POST", "/v1/permissions/decisions"): ("gone", {"decisions": []}, 401),
    ("GET", "/v1/permissions/decisions"): ("vi", None, 403),
}
QUERIES = {
    ("GET", "/v1/tokens"): {"user_id": "{user_id}"},
    **{
        ("GET", f"/v1/permissions/{name}"): {"owner": "{user_id}"}
        for name in ("grants", "trust", "version", "decisions")
    },
}


def _routes(service: Service) -> list[tuple[str, str]]:
    app = service.client._transport.app  # type: ignore[attr-defined]
    return [
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route)
        for method in sorted(route.methods or ())
        if method != "HEAD"
    ]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, ids) for item in value]
    return value


async def test_every_route_but_health_refuses_an_anonymous_caller(service: Service) -> None:
    ids = await _world(service)
    routes = [route for route in _routes(service) if route != ("GET", "/v1/health")]
    assert len(routes) == len(UNDER_PRIVILEGED)
    for method, path in routes:
        response = await service.call(None, method, path.format(**ids))
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["category"] == "data.authorization"


async def test_every_route_but_health_refuses_an_under_privileged_caller(service: Service) -> None:
    ids = await _world(service)
    routes = [route for route in _routes(service) if route != ("GET", "/v1/health")]
    assert sorted(routes) == sorted(UNDER_PRIVILEGED), "a new route needs its under-privileged case here"
    for method, path in routes:
        who, body, status = UNDER_PRIVILEGED[method, path]
        params = _fill(QUERIES.get((method, path), {}), ids)
        response = await service.call(who, method, path.format(**ids), json=_fill(body, ids), params=params)
        assert response.status_code == status, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["category"] == ("data.not_found" if status == 404 else "data.authorization")


async def test_health_answers_anonymous_callers_with_the_schema_revision(service: Service) -> None:
    response = await service.call(None, "GET", "/v1/health")
    assert response.status_code == 200
    assert response.json()["schema_revision"] == "0005"


async def test_a_viewer_lists_only_workflows_it_owns_or_that_are_shared_with_it(service: Service) -> None:
    ids = await _world(service)
    shared = await service.add_workflow("ed2", "shared")
    put = await service.call(
        "ed2", "PUT", f"/v1/workflows/{shared['id']}/shares/{service.ids['vi']}", json={"role": "viewer"}
    )
    assert put.status_code == 200
    listed = (await service.call("vi", "GET", "/v1/workflows")).json()["items"]
    assert [item["id"] for item in listed] == [shared["id"]]
    everything = (await service.call("svc", "GET", "/v1/workflows")).json()["items"]
    assert {item["id"] for item in everything} == {shared["id"], ids["workflow_id"]}


# What each role may do to a workflow it owns, that is shared with it (as viewer or editor), or someone else's:
# read, update, share and delete, in that order (the delete last).
MATRIX = {
    "admin": dict.fromkeys(("own", "viewer", "editor", "other"), (200, 200, 200, 204)),
    "editor": {
        "own": (200, 200, 200, 204),
        "editor": (200, 200, 403, 403),
        "viewer": (200, 403, 403, 403),
        "other": (404, 404, 404, 404),
    },
    "viewer": {
        "own": (200, 403, 403, 403),
        "editor": (200, 403, 403, 403),
        "viewer": (200, 403, 403, 403),
        "other": (404, 404, 404, 404),
    },
    "service": dict.fromkeys(("own", "viewer", "editor", "other"), (200, 403, 403, 403)),
}


@pytest.mark.parametrize("relation", ["own", "viewer", "editor", "other"])
@pytest.mark.parametrize("role", ["admin", "editor", "viewer", "service"])
async def test_rbac_matrix_of_role_and_relation_to_the_workflow(service: Service, role: str, relation: str) -> None:
    caller = await service.add_user("caller", role)
    owner = await service.add_user("owner", "editor")
    third = await service.add_user("third", "viewer")
    owned_by = caller if relation == "own" else owner
    made = await service.call("admin", "POST", "/v1/workflows", json={"name": "w", "spec": SPEC, "owner": owned_by})
    workflow_id = made.json()["id"]
    if relation in ("viewer", "editor"):
        shared = await service.call(
            "owner", "PUT", f"/v1/workflows/{workflow_id}/shares/{caller}", json={"role": relation}
        )
        assert shared.status_code == 200
    path = f"/v1/workflows/{workflow_id}"
    got = (
        (await service.call("caller", "GET", path)).status_code,
        (await service.call("caller", "PUT", path, json={"spec": SPEC, "expected_version": 1})).status_code,
        (await service.call("caller", "PUT", f"{path}/shares/{third}", json={"role": "viewer"})).status_code,
        (await service.call("caller", "DELETE", path)).status_code,
    )
    assert got == MATRIX[role][relation]


async def test_a_user_reads_itself_but_no_other_user(service: Service) -> None:
    me = await service.add_user("vi", "viewer")
    assert (await service.call("vi", "GET", f"/v1/users/{me}")).json()["name"] == "vi"
    assert (await service.call("vi", "GET", "/v1/me")).json()["id"] == me
    assert (await service.call("vi", "GET", f"/v1/users/{service.ids['admin']}")).status_code == 403


async def test_a_user_lists_and_revokes_only_its_own_tokens(service: Service) -> None:
    await service.add_user("vi", "viewer")
    await service.add_user("ed", "editor")
    theirs = (await service.call("ed", "GET", "/v1/tokens")).json()["items"][0]
    mine = (await service.call("vi", "GET", "/v1/tokens")).json()["items"]
    assert [token["user_id"] for token in mine] == [service.ids["vi"]]
    assert (await service.call("vi", "DELETE", f"/v1/tokens/{theirs['id']}")).status_code == 404
    assert (await service.call("ed", "GET", "/v1/me")).status_code == 200
    assert (await service.call("vi", "DELETE", f"/v1/tokens/{mine[0]['id']}")).status_code == 204
    assert (await service.call("vi", "GET", "/v1/me")).status_code == 401
