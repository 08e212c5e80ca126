"""Run records in the data service: runs, node checkpoints and the node cache, over the real app on SQLite and
PostgreSQL (the DAG tracker's semantics, as checkpoints.py kept them in runs.db)."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest

from .conftest import Service


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def new_run(run_id: str = "run0001", **fields: Any) -> dict[str, Any]:
    return {
        "id": run_id,
        "workflow_id": "hello",
        "workflow_name": "Hello",
        "document": b64(b"\x81\xa2id\xa5hello"),
        "inputs": b64(b"\x80"),
        "nodes_total": 3,
        "process": {"pid": 42, "hostname": "box", "started": 1000.5},
        **fields,
    }


def node(node_id: str, **fields: Any) -> dict[str, Any]:
    return {"node_id": node_id, "state": "succeeded", "attempts": 1, "outputs": b64(b"\x81\xa1x\x01"), **fields}


async def create(service: Service, who: str = "admin", **fields: Any) -> httpx.Response:
    made = await service.call(who, "POST", "/v1/runs", json=new_run(**fields))
    assert made.status_code == 201, made.text
    return made


async def test_a_created_run_is_running_owned_by_its_creator_and_reads_back_whole(service: Service) -> None:
    made = (await create(service)).json()
    read = (await service.call("admin", "GET", "/v1/runs/run0001")).json()
    assert read == made
    assert (read["state"], read["owner"], read["process"]) == (
        "running",
        service.ids["admin"],
        {"pid": 42, "hostname": "box", "started": 1000.5},
    )
    assert base64.b64decode(read["document"]) == b"\x81\xa2id\xa5hello"
    assert read["created_at"] == read["updated_at"] and read["finished_at"] is None


async def test_a_second_run_with_the_same_id_is_refused_and_the_first_is_kept(service: Service) -> None:
    await create(service)
    again = await service.call("admin", "POST", "/v1/runs", json=new_run(workflow_name="Other"))
    assert again.status_code == 422
    assert "exists already" in again.json()["detail"]
    assert (await service.call("admin", "GET", "/v1/runs/run0001")).json()["workflow_name"] == "Hello"


async def test_a_unique_prefix_of_four_characters_finds_the_run(service: Service) -> None:
    await create(service, run_id="abcd1234")
    await create(service, run_id="efgh5678")
    assert (await service.call("admin", "GET", "/v1/runs/abcd")).json()["id"] == "abcd1234"
    assert (await service.call("admin", "GET", "/v1/runs/abc")).status_code == 404


async def test_an_ambiguous_prefix_is_a_validation_error(service: Service) -> None:
    await create(service, run_id="abcd1234")
    await create(service, run_id="abcd5678")
    response = await service.call("admin", "GET", "/v1/runs/abcd")
    assert response.status_code == 422
    assert response.json()["category"] == "data.validation"
    assert "ambiguous" in response.json()["detail"]


async def test_a_prefix_with_like_wildcards_matches_only_literally(service: Service) -> None:
    await create(service, run_id="abcd1234")
    assert (await service.call("admin", "GET", "/v1/runs/ab%_")).status_code == 404


async def test_an_update_changes_only_the_fields_given_and_null_clears_one(service: Service) -> None:
    await create(service)
    first = {"error": "boom", "failure_category": "data.validation", "waiting": b64(b"\x80")}
    assert (await service.call("admin", "PATCH", "/v1/runs/run0001", json=first)).status_code == 204
    second = {"state": "failed", "finished_at": 2000.0, "waiting": None}
    assert (await service.call("admin", "PATCH", "/v1/runs/run0001", json=second)).status_code == 204
    read = (await service.call("admin", "GET", "/v1/runs/run0001")).json()
    assert (read["state"], read["finished_at"], read["error"], read["failure_category"], read["waiting"]) == (
        "failed",
        2000.0,
        "boom",
        "data.validation",
        None,
    )
    assert read["updated_at"] >= read["created_at"]


async def test_an_update_naming_a_process_of_null_clears_the_process(service: Service) -> None:
    await create(service)
    await service.call("admin", "PATCH", "/v1/runs/run0001", json={"process": None})
    assert (await service.call("admin", "GET", "/v1/runs/run0001")).json()["process"] is None


async def test_an_update_with_an_unknown_state_is_refused(service: Service) -> None:
    await create(service)
    response = await service.call("admin", "PATCH", "/v1/runs/run0001", json={"state": "exploded"})
    assert response.status_code == 422
    assert "state" in response.json()["detail"]


async def test_saved_nodes_read_back_with_a_finish_time_set_by_the_service(service: Service) -> None:
    await create(service)
    saved = await service.call("admin", "PUT", "/v1/runs/run0001/nodes", json={"nodes": [node("a"), node("b")]})
    assert saved.status_code == 204
    nodes = (await service.call("admin", "GET", "/v1/runs/run0001/nodes")).json()
    assert [(n["node_id"], n["state"], base64.b64decode(n["outputs"])) for n in nodes] == [
        ("a", "succeeded", b"\x81\xa1x\x01"),
        ("b", "succeeded", b"\x81\xa1x\x01"),
    ]
    assert all(n["finished_at"] > 0 for n in nodes)


async def test_saving_a_node_again_replaces_its_checkpoint(service: Service) -> None:
    await create(service)
    await service.call("admin", "PUT", "/v1/runs/run0001/nodes", json={"nodes": [node("a")]})
    again = node("a", state="failed", outputs=None, error="bad", attempts=3)
    await service.call("admin", "PUT", "/v1/runs/run0001/nodes", json={"nodes": [again]})
    nodes = (await service.call("admin", "GET", "/v1/runs/run0001/nodes")).json()
    assert [(n["state"], n["error"], n["attempts"], n["outputs"]) for n in nodes] == [("failed", "bad", 3, None)]


async def test_a_node_named_twice_in_one_batch_keeps_the_last_checkpoint(service: Service) -> None:
    await create(service)
    batch = {"nodes": [node("a", attempts=1), node("a", attempts=2)]}
    assert (await service.call("admin", "PUT", "/v1/runs/run0001/nodes", json=batch)).status_code == 204
    assert [n["attempts"] for n in (await service.call("admin", "GET", "/v1/runs/run0001/nodes")).json()] == [2]


async def test_a_fresh_success_with_a_cache_key_is_cached_and_a_cached_one_is_not(service: Service) -> None:
    await create(service)
    batch = [node("a", cache_key="k-a", uses="std/echo"), node("b", cache_key="k-b", cached=True)]
    await service.call("admin", "PUT", "/v1/runs/run0001/nodes", json={"nodes": batch})
    entry = (await service.call("admin", "GET", "/v1/node-cache/k-a")).json()
    assert (entry["uses"], entry["run_id"], entry["node_id"], base64.b64decode(entry["outputs"])) == (
        "std/echo",
        "run0001",
        "a",
        b"\x81\xa1x\x01",
    )
    assert (await service.call("admin", "GET", "/v1/node-cache/k-b")).status_code == 404


async def test_a_cache_entry_is_kept_when_the_same_key_is_saved_again(service: Service) -> None:
    await create(service)
    await service.call("admin", "PUT", "/v1/runs/run0001/nodes", json={"nodes": [node("a", cache_key="k")]})
    later = node("b", cache_key="k", outputs=b64(b"other"))
    await service.call("admin", "PUT", "/v1/runs/run0001/nodes", json={"nodes": [later]})
    assert (await service.call("admin", "GET", "/v1/node-cache/k")).json()["node_id"] == "a"


async def test_nodes_of_an_unknown_run_are_refused_with_not_found(service: Service) -> None:
    response = await service.call("admin", "PUT", "/v1/runs/nope/nodes", json={"nodes": [node("a")]})
    assert response.status_code == 404
    assert (await service.call("admin", "GET", "/v1/runs/nope/nodes")).status_code == 404


async def test_forget_deletes_those_checkpoints_with_the_update(service: Service) -> None:
    await create(service)
    await service.call("admin", "PUT", "/v1/runs/run0001/nodes", json={"nodes": [node("a"), node("b"), node("c")]})
    claim = {"state": "running", "inputs": b64(b"\x81\xa1n\x02"), "forget": ["b", "c"]}
    assert (await service.call("admin", "PATCH", "/v1/runs/run0001", json=claim)).status_code == 204
    nodes = (await service.call("admin", "GET", "/v1/runs/run0001/nodes")).json()
    assert [n["node_id"] for n in nodes] == ["a"]
    read = (await service.call("admin", "GET", "/v1/runs/run0001")).json()
    assert base64.b64decode(read["inputs"]) == b"\x81\xa1n\x02"


async def test_copied_nodes_appear_in_the_target_run_as_they_were_in_the_source(service: Service) -> None:
    await create(service, run_id="source1")
    await create(service, run_id="target1", parent_id="source1")
    await service.call("admin", "PUT", "/v1/runs/source1/nodes", json={"nodes": [node("a"), node("b", attempts=4)]})
    copy = {"source": "source1", "node_ids": ["b", "missing"]}
    assert (await service.call("admin", "POST", "/v1/runs/target1/nodes/copy", json=copy)).status_code == 204
    source = {n["node_id"]: n for n in (await service.call("admin", "GET", "/v1/runs/source1/nodes")).json()}
    target = (await service.call("admin", "GET", "/v1/runs/target1/nodes")).json()
    assert target == [source["b"]]
    assert (await service.call("admin", "GET", "/v1/runs/target1")).json()["parent_id"] == "source1"


async def test_copying_twice_keeps_one_checkpoint(service: Service) -> None:
    await create(service, run_id="source1")
    await create(service, run_id="target1")
    await service.call("admin", "PUT", "/v1/runs/source1/nodes", json={"nodes": [node("a")]})
    for _ in range(2):
        copied = await service.call(
            "admin", "POST", "/v1/runs/target1/nodes/copy", json={"source": "source1", "node_ids": ["a"]}
        )
        assert copied.status_code == 204
    assert len((await service.call("admin", "GET", "/v1/runs/target1/nodes")).json()) == 1


async def test_runs_are_listed_newest_first_and_paged(service: Service) -> None:
    for number in range(5):
        await create(service, run_id=f"run{number:04d}")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await service.call("admin", "GET", "/v1/runs", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"run{number:04d}" for number in reversed(range(5))]


async def test_a_listed_run_has_no_documents_but_the_bytes_it_holds(service: Service) -> None:
    await create(service)
    await service.call("admin", "PUT", "/v1/runs/run0001/nodes", json={"nodes": [node("a"), node("b", outputs=None)]})
    await service.call("admin", "PATCH", "/v1/runs/run0001", json={"outputs": b64(b"12345")})
    (item,) = (await service.call("admin", "GET", "/v1/runs")).json()["items"]
    assert "document" not in item and "inputs" not in item and "outputs" not in item
    document, inputs, outputs, node_outputs = len(b"\x81\xa2id\xa5hello"), 1, 5, len(b"\x81\xa1x\x01")
    assert item["size"] == document + inputs + outputs + node_outputs


async def test_runs_are_listed_by_state(service: Service) -> None:
    await create(service, run_id="run0001")
    await create(service, run_id="run0002")
    await service.call("admin", "PATCH", "/v1/runs/run0002", json={"state": "succeeded", "finished_at": 5.0})
    listed = (await service.call("admin", "GET", "/v1/runs", params={"state": "succeeded"})).json()["items"]
    assert [item["id"] for item in listed] == ["run0002"]


async def test_finished_before_lists_finished_runs_oldest_first(service: Service) -> None:
    for run_id, finished in (("run0001", 30.0), ("run0002", 10.0), ("run0003", None), ("run0004", 99.0)):
        await create(service, run_id=run_id)
        if finished is not None:
            await service.call(
                "admin", "PATCH", f"/v1/runs/{run_id}", json={"state": "failed", "finished_at": finished}
            )
    listed = (await service.call("admin", "GET", "/v1/runs", params={"finished_before": 50})).json()["items"]
    assert [item["id"] for item in listed] == ["run0002", "run0001"]


async def test_delete_removes_only_runs_finished_before_the_time_with_their_nodes(service: Service) -> None:
    await create(service, run_id="old0001")
    await create(service, run_id="new0001")
    await create(service, run_id="live001")
    await service.call("admin", "PUT", "/v1/runs/old0001/nodes", json={"nodes": [node("a")]})
    await service.call("admin", "PATCH", "/v1/runs/old0001", json={"state": "succeeded", "finished_at": 10.0})
    await service.call("admin", "PATCH", "/v1/runs/new0001", json={"state": "succeeded", "finished_at": 100.0})
    body = {"run_ids": ["old0001", "new0001", "live001", "unknown"], "finished_before": 50.0}
    deleted = await service.call("admin", "POST", "/v1/runs/delete", json=body)
    assert deleted.json() == {"deleted": ["old0001"]}
    assert (await service.call("admin", "GET", "/v1/runs/old0001")).status_code == 404
    assert (await service.call("admin", "GET", "/v1/runs/old0001/nodes")).status_code == 404
    listed = (await service.call("admin", "GET", "/v1/runs")).json()["items"]
    assert {item["id"] for item in listed} == {"new0001", "live001"}


async def test_the_node_cache_is_listed_newest_first_without_outputs_with_size_and_workflow(service: Service) -> None:
    await create(service)
    for name in ("a", "b", "c"):
        await service.call("admin", "PUT", "/v1/runs/run0001/nodes", json={"nodes": [node(name, cache_key=f"k{name}")]})
    seen = []
    page = (await service.call("admin", "GET", "/v1/node-cache", params={"limit": 2})).json()
    seen += page["items"]
    page = (
        await service.call("admin", "GET", "/v1/node-cache", params={"limit": 2, "cursor": page["next_cursor"]})
    ).json()
    seen += page["items"]
    assert page["next_cursor"] is None
    assert [item["key"] for item in seen] == ["kc", "kb", "ka"]
    assert all("outputs" not in item for item in seen)
    assert {(item["workflow_id"], item["size"]) for item in seen} == {("hello", len(b"\x81\xa1x\x01"))}


async def test_a_cache_entry_outlives_its_run_and_lists_without_a_workflow(service: Service) -> None:
    await create(service)
    await service.call("admin", "PUT", "/v1/runs/run0001/nodes", json={"nodes": [node("a", cache_key="k")]})
    await service.call("admin", "PATCH", "/v1/runs/run0001", json={"state": "succeeded", "finished_at": 1.0})
    await service.call("admin", "POST", "/v1/runs/delete", json={"run_ids": ["run0001"], "finished_before": 2.0})
    (item,) = (await service.call("admin", "GET", "/v1/node-cache")).json()["items"]
    assert (item["key"], item["workflow_id"]) == ("k", None)


async def test_deleted_cache_entries_are_gone_and_unknown_keys_are_ignored(service: Service) -> None:
    await create(service)
    batch = [node("a", cache_key="ka"), node("b", cache_key="kb")]
    await service.call("admin", "PUT", "/v1/runs/run0001/nodes", json={"nodes": batch})
    deleted = await service.call("admin", "POST", "/v1/node-cache/delete", json={"keys": ["ka", "nothing"]})
    assert deleted.status_code == 204
    assert (await service.call("admin", "GET", "/v1/node-cache/ka")).status_code == 404
    assert (await service.call("admin", "GET", "/v1/node-cache/kb")).status_code == 200


async def test_a_batch_larger_than_the_limit_is_refused_before_any_statement(service: Service) -> None:
    await create(service)
    too_many = {"nodes": [node(f"n{i}", outputs=None) for i in range(1001)]}
    response = await service.call("admin", "PUT", "/v1/runs/run0001/nodes", json=too_many)
    assert response.status_code == 422
    assert "1000" in response.json()["detail"]
    assert (await service.call("admin", "GET", "/v1/runs/run0001/nodes")).json() == []


async def test_a_full_batch_of_deletes_spans_several_in_lists(service: Service) -> None:
    await create(service)
    keys = [f"key{i}" for i in range(1000)]
    response = await service.call("admin", "POST", "/v1/node-cache/delete", json={"keys": keys})
    assert response.status_code == 204


async def test_a_malformed_cursor_is_a_validation_error(service: Service) -> None:
    response = await service.call("admin", "GET", "/v1/runs", params={"cursor": "yesterday"})
    assert response.status_code == 422


async def _audit(service: Service, resource: str = "run") -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = (
        await service.call("admin", "GET", "/v1/audit", params={"resource": resource})
    ).json()["items"]
    return records[::-1]  # oldest first


async def test_a_created_run_is_audited_without_its_documents(service: Service) -> None:
    await create(service)
    (record,) = await _audit(service)
    assert (record["action"], record["resource_id"], record["actor"], record["before"]) == (
        "create",
        "run0001",
        service.ids["admin"],
        None,
    )
    assert record["after"] == {
        "id": "run0001",
        "workflow_id": "hello",
        "state": "running",
        "parent_id": None,
        "owner": service.ids["admin"],
    }


async def test_updates_of_state_and_cancel_request_are_audited_with_those_fields_only(service: Service) -> None:
    await create(service)
    await service.call("admin", "PATCH", "/v1/runs/run0001", json={"cancel_requested": True, "error": "stop"})
    await service.call("admin", "PATCH", "/v1/runs/run0001", json={"waiting": b64(b"\x80"), "error": None})
    await service.call("admin", "PATCH", "/v1/runs/run0001", json={"state": "cancelled", "finished_at": 3.0})
    await service.call("admin", "PATCH", "/v1/runs/run0001", json={"state": "cancelled"})  # no change: no record
    records = await _audit(service)
    assert [(r["action"], r["before"], r["after"]) for r in records[1:]] == [
        ("update", {"cancel_requested": False}, {"cancel_requested": True}),
        ("update", {"state": "running"}, {"state": "cancelled"}),
    ]


async def test_checkpoints_are_not_audited_one_by_one(service: Service) -> None:
    await create(service)
    await service.call("admin", "PUT", "/v1/runs/run0001/nodes", json={"nodes": [node("a", cache_key="k")]})
    assert [r["action"] for r in await _audit(service)] == ["create"]
    assert await _audit(service, "node_cache") == []


async def test_each_deleted_run_is_audited(service: Service) -> None:
    for run_id in ("run0001", "run0002"):
        await create(service, run_id=run_id)
        await service.call("admin", "PATCH", f"/v1/runs/{run_id}", json={"state": "failed", "finished_at": 1.0})
    await service.call(
        "admin", "POST", "/v1/runs/delete", json={"run_ids": ["run0001", "run0002"], "finished_before": 2}
    )
    deletes = [r for r in await _audit(service) if r["action"] == "delete"]
    assert sorted(r["resource_id"] for r in deletes) == ["run0001", "run0002"]
    assert all(r["before"]["state"] == "failed" and r["after"] is None for r in deletes)


async def test_a_cache_deletion_is_audited_once_with_its_count(service: Service) -> None:
    await create(service)
    await service.call("admin", "PUT", "/v1/runs/run0001/nodes", json={"nodes": [node("a", cache_key="k")]})
    await service.call("admin", "POST", "/v1/node-cache/delete", json={"keys": ["k", "absent"]})
    (record,) = await _audit(service, "node_cache")
    assert (record["action"], record["after"]) == ("delete", {"deleted": 1})


async def test_a_refused_write_leaves_no_audit_record(service: Service) -> None:
    await create(service)
    await service.call("admin", "PATCH", "/v1/runs/run0001", json={"state": "exploded"})
    assert [r["action"] for r in await _audit(service)] == ["create"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/v1/runs/run0001", {"forget": [f"n{i}" for i in range(1001)]}),
        ("POST", "/v1/runs/run0001/nodes/copy", {"source": "run0001", "node_ids": [f"n{i}" for i in range(1001)]}),
        ("POST", "/v1/runs/delete", {"run_ids": [f"r{i}" for i in range(1001)], "finished_before": 1.0}),
        ("POST", "/v1/node-cache/delete", {"keys": [f"k{i}" for i in range(1001)]}),
    ],
)
async def test_every_list_in_a_body_is_bounded(service: Service, method: str, path: str, body: dict[str, Any]) -> None:
    await create(service)
    response = await service.call("admin", method, path, json=body)
    assert response.status_code == 422
    assert "1000" in response.json()["detail"]


async def test_an_unknown_field_in_a_body_is_refused(service: Service) -> None:
    response = await service.call("admin", "POST", "/v1/runs", json=new_run(owner="someone-else"))
    assert response.status_code == 422
    assert "owner" in response.json()["detail"]


async def test_a_run_id_that_could_escape_a_path_is_refused(service: Service) -> None:
    response = await service.call("admin", "POST", "/v1/runs", json=new_run(run_id="../etc"))
    assert response.status_code == 422


async def test_concurrent_checkpoints_of_one_run_all_land(service: Service) -> None:
    await create(service)
    saves = [
        service.call("admin", "PUT", "/v1/runs/run0001/nodes", json={"nodes": [node(f"n{i}"), node("shared")]})
        for i in range(10)
    ]
    assert [response.status_code for response in await asyncio.gather(*saves)] == [204] * 10
    saved = (await service.call("admin", "GET", "/v1/runs/run0001/nodes")).json()
    assert sorted(n["node_id"] for n in saved) == sorted([f"n{i}" for i in range(10)] + ["shared"])
