from __future__ import annotations

from .conftest import SPEC, Service


async def test_an_editor_creates_reads_and_updates_a_workflow(service: Service) -> None:
    await service.add_user("ed", "editor")
    made = await service.add_workflow("ed")
    assert made["version"] == 1
    got = await service.call("ed", "GET", f"/v1/workflows/{made['id']}")
    assert got.json() == made
    put = await service.call("ed", "PUT", f"/v1/workflows/{made['id']}", json={"spec": SPEC, "expected_version": 1})
    assert put.status_code == 200, put.text
    assert put.json()["version"] == 2
