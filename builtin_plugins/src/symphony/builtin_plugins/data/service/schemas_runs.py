"""Run records on the wire: request bodies (every list and string bounded) and the JSON shapes of stored rows.

Documents, inputs and outputs are the tracker's MessagePack: bytes, which JSON carries as base64 (msgspec
encodes and decodes them).  Times are epoch seconds, as the tracker keeps them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from sqlalchemy import Row

from .schemas import _Body

#: A selected row, whatever its columns.
AnyRow = Row[*tuple[Any, ...]]

#: Items one request may name: nodes saved or copied, runs or cache entries deleted, nodes forgotten.
MAX_BATCH = 1000

RunId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
NodeId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
CacheKey = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Ref = Annotated[str, msgspec.Meta(max_length=200)]
Text = Annotated[str, msgspec.Meta(max_length=100_000)]
RunState = Literal["running", "succeeded", "failed", "cancelled"]
NodeState = Literal["succeeded", "failed", "skipped", "cancelled"]
Count = Annotated[int, msgspec.Meta(ge=0)]
Seconds = Annotated[float, msgspec.Meta(ge=0)]


class Process(_Body, frozen=True):
    pid: Count
    hostname: Annotated[str, msgspec.Meta(max_length=255)]
    started: float


class NewRunBody(_Body, frozen=True):
    id: RunId
    workflow_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    workflow_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    document: bytes
    inputs: bytes
    nodes_total: Count
    process: Process | None = None
    parent_id: RunId | None = None


class RunUpdateBody(_Body, frozen=True):
    """Only the fields present change; ``null`` clears one that may be empty."""

    state: RunState | msgspec.UnsetType = msgspec.UNSET
    inputs: bytes | msgspec.UnsetType = msgspec.UNSET
    finished_at: float | msgspec.UnsetType | None = msgspec.UNSET
    process: Process | msgspec.UnsetType | None = msgspec.UNSET
    cancel_requested: bool | msgspec.UnsetType = msgspec.UNSET
    error: Text | msgspec.UnsetType | None = msgspec.UNSET
    failure_category: Annotated[str, msgspec.Meta(max_length=64)] | msgspec.UnsetType | None = msgspec.UNSET
    outputs: bytes | msgspec.UnsetType | None = msgspec.UNSET
    metrics: bytes | msgspec.UnsetType | None = msgspec.UNSET
    waiting: bytes | msgspec.UnsetType | None = msgspec.UNSET
    prewarmed: bytes | msgspec.UnsetType | None = msgspec.UNSET
    forget: Annotated[list[NodeId], msgspec.Meta(max_length=MAX_BATCH)] = msgspec.field(default_factory=list)


class NodeBody(_Body, frozen=True):
    node_id: NodeId
    state: NodeState
    attempts: Count = 0
    outputs: bytes | None = None
    outputs_ref: Ref | None = None
    error: Text | None = None
    detail: Text | None = None
    cached: bool = False
    queue_wait: Seconds = 0.0
    run_time: Seconds = 0.0
    finished_at: float | None = None  # ignored: the service sets it
    cache_key: CacheKey | None = None
    uses: Annotated[str, msgspec.Meta(max_length=300)] = ""


class NodesBody(_Body, frozen=True):
    nodes: Annotated[list[NodeBody], msgspec.Meta(max_length=MAX_BATCH)]


class CopyBody(_Body, frozen=True):
    source: RunId
    node_ids: Annotated[list[NodeId], msgspec.Meta(max_length=MAX_BATCH)]


class DeleteRunsBody(_Body, frozen=True):
    run_ids: Annotated[list[RunId], msgspec.Meta(max_length=MAX_BATCH)]
    finished_before: float


class DeleteCacheBody(_Body, frozen=True):
    keys: Annotated[list[CacheKey], msgspec.Meta(max_length=MAX_BATCH)]


def process(row: AnyRow) -> dict[str, Any] | None:
    if row.pid is None or row.hostname is None or row.process_started is None:
        return None
    return {"pid": row.pid, "hostname": row.hostname, "started": row.process_started}


#: The columns of a summary (and of a full record, which adds the documents).
SUMMARY_FIELDS = (
    "id",
    "workflow_id",
    "workflow_name",
    "state",
    "nodes_total",
    "created_at",
    "updated_at",
    "finished_at",
    "cancel_requested",
    "error",
    "failure_category",
    "parent_id",
    "metrics",
)
DOCUMENT_FIELDS = ("document", "inputs", "outputs", "waiting", "prewarmed")


def summary(row: AnyRow) -> dict[str, Any]:
    """A listed run: no documents, but ``size`` (selected by the query) for retention."""
    out = {name: getattr(row, name) for name in SUMMARY_FIELDS}
    out.update(owner=row.owner_id, process=process(row), size=row.size or 0)
    return out


def record(row: AnyRow) -> dict[str, Any]:
    out = {name: getattr(row, name) for name in SUMMARY_FIELDS + DOCUMENT_FIELDS}
    out.update(owner=row.owner_id, process=process(row))
    return out


NODE_FIELDS = (
    "node_id",
    "state",
    "attempts",
    "outputs",
    "outputs_ref",
    "error",
    "detail",
    "cached",
    "queue_wait",
    "run_time",
    "finished_at",
)


def node(row: AnyRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in NODE_FIELDS}


CACHE_FIELDS = ("key", "uses", "run_id", "node_id", "created_at", "outputs_ref")


def cache_entry(row: AnyRow, *, outputs: bool) -> dict[str, Any]:
    """An entry read by key (with its outputs) or listed (with its run's workflow and its ``size`` instead)."""
    out = {name: getattr(row, name) for name in CACHE_FIELDS}
    if outputs:
        out["outputs"] = row.outputs
    else:
        out.update(workflow_id=row.workflow_id, size=row.size or 0)
    return out
