"""The DataAccessPort's run records over the data service's API: a mixin of DataClient, one request per call.

Writes go through ``_write``, which gives each an Idempotency-Key: creating a run is not repeatable (a
second create of the same id is refused), so a retry after a network error must replay the first
answer.  Checkpoints and run updates are upserts of the values given, so repeating one writes the same
rows again (docs/data.md, "Idempotency").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from symphony.hookspecs import DataError
from symphony.hookspecs.ports import CacheEntry, NewRun, NodeCheckpoint, Page, RunRecord, RunSummary, RunUpdate

from .answers import page_of, record_of, segment

__all__ = ["RunsAPI"]

_encode = msgspec.json.Encoder().encode


def _given(struct: msgspec.Struct, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The struct's fields that are set (UNSET ones are left out, so the service leaves them as they are)."""
    return {
        name: value
        for name in struct.__struct_fields__
        if name not in skip and (value := getattr(struct, name)) is not msgspec.UNSET
    }


class RunsAPI:
    """Runs, node checkpoints and the node cache (``/v1/runs``, ``/v1/node-cache``)."""

    #: The transport's ``save_nodes_now``, if it has one (``direct.DirectTransport``): checkpoints without a request.
    _save_now: Callable[[str, bytes], bool] | None

    if TYPE_CHECKING:

        async def _read(self, path: str, params: Mapping[str, Any] | None = None) -> Any: ...

        async def _read_optional(self, path: str) -> Any: ...

        async def _write(
            self, method: str, path: str, document: Mapping[str, Any] | None = None, *, idempotent: bool = False
        ) -> Any: ...

    async def create_run(self, request: NewRun) -> RunRecord:
        return record_of(await self._write("POST", "/v1/runs", _given(request)), RunRecord)

    async def get_run(self, run_id: str) -> RunRecord | None:
        data = await self._read_optional(f"/v1/runs/{segment(run_id)}")
        return None if data is None else record_of(data, RunRecord)

    async def list_runs(
        self,
        *,
        limit: int = 50,
        cursor: str | None = None,
        state: str | None = None,
        finished_before: float | None = None,
    ) -> Page[RunSummary]:
        query = {"limit": limit, "cursor": cursor, "state": state, "finished_before": finished_before}
        return page_of(await self._read("/v1/runs", query), RunSummary)

    async def update_run(self, run_id: str, update: RunUpdate) -> None:
        document = _given(update, skip=() if update.forget else ("forget",))
        await self._write("PATCH", f"/v1/runs/{segment(run_id)}", document, idempotent=True)

    async def delete_runs(self, run_ids: list[str], *, finished_before: float) -> list[str]:
        data = await self._write("POST", "/v1/runs/delete", {"run_ids": run_ids, "finished_before": finished_before})
        deleted = data.get("deleted") if isinstance(data, dict) else None
        if not isinstance(deleted, list):
            raise DataError("The data service's answer to a delete does not list the deleted runs.")
        return [str(run_id) for run_id in deleted]

    async def save_nodes(self, run_id: str, nodes: list[NodeCheckpoint]) -> None:
        if not nodes or (self._save_now is not None and self._save_now(run_id, _encode({"nodes": nodes}))):
            return
        await self._write("PUT", f"/v1/runs/{segment(run_id)}/nodes", {"nodes": nodes}, idempotent=True)

    async def copy_nodes(self, source: str, target: str, node_ids: list[str]) -> None:
        if node_ids:
            await self._write(
                "POST",
                f"/v1/runs/{segment(target)}/nodes/copy",
                {"source": source, "node_ids": node_ids},
                idempotent=True,
            )

    async def run_nodes(self, run_id: str) -> list[NodeCheckpoint]:
        data = await self._read(f"/v1/runs/{segment(run_id)}/nodes")
        if not isinstance(data, list):
            raise DataError("The data service answered a run's nodes with something other than a list.")
        return [record_of(item, NodeCheckpoint) for item in data]

    async def cached_node(self, key: str) -> CacheEntry | None:
        data = await self._read_optional(f"/v1/node-cache/{segment(key)}")
        return None if data is None else record_of(data, CacheEntry)

    async def list_cache(self, *, limit: int = 500, cursor: str | None = None) -> Page[CacheEntry]:
        return page_of(await self._read("/v1/node-cache", {"limit": limit, "cursor": cursor}), CacheEntry)

    async def delete_cache(self, keys: list[str]) -> None:
        if keys:
            await self._write("POST", "/v1/node-cache/delete", {"keys": keys}, idempotent=True)
