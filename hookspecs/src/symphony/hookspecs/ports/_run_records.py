"""Run records as the data service keeps them: runs, their node checkpoints and the node cache (seed M1.6, M3.2).

The DAG tracker writes these through the DataAccessPort, so a run started on
one machine can be listed, cancelled, resumed or retried from another that
talks to the same data service.  Documents, inputs and outputs travel as
MessagePack bytes: the service stores them as the tracker wrote them.
"""

from __future__ import annotations

import msgspec

from .._base import Base

__all__ = ["CacheEntry", "NewRun", "NodeCheckpoint", "RunProcess", "RunRecord", "RunSummary", "RunUpdate"]


class RunProcess(Base, frozen=True):
    """The process running a run: a reused pid on the same host is told apart by its start time."""

    pid: int
    hostname: str
    started: float


class NewRun(Base, frozen=True):
    """A run about to start: the workflow as written (MessagePack), its inputs (MessagePack), who runs it."""

    id: str
    workflow_id: str
    workflow_name: str
    document: bytes
    inputs: bytes
    nodes_total: int
    process: RunProcess | None = None
    parent_id: str | None = None  # the run this one retries


class RunSummary(Base, frozen=True):
    """A run as listed: everything but its documents, with the bytes it holds (``size``) for retention."""

    id: str
    workflow_id: str
    workflow_name: str
    state: str  # running, succeeded, failed, cancelled
    nodes_total: int
    created_at: float
    updated_at: float
    finished_at: float | None = None
    process: RunProcess | None = None
    cancel_requested: bool = False
    error: str | None = None
    failure_category: str | None = None
    parent_id: str | None = None
    owner: str | None = None  # the user id that created it
    metrics: bytes | None = None  # MessagePack run totals, once finished
    size: int = 0  # bytes of its document, inputs, outputs and node outputs


class RunRecord(Base, frozen=True):
    """One run in full: the summary's fields and its documents."""

    id: str
    workflow_id: str
    workflow_name: str
    document: bytes
    inputs: bytes
    state: str
    nodes_total: int
    created_at: float
    updated_at: float
    finished_at: float | None = None
    process: RunProcess | None = None
    cancel_requested: bool = False
    error: str | None = None
    failure_category: str | None = None
    parent_id: str | None = None
    owner: str | None = None
    outputs: bytes | None = None  # MessagePack, once finished
    metrics: bytes | None = None  # MessagePack run totals, once finished
    waiting: bytes | None = None  # MessagePack: node -> why it waits for resources
    prewarmed: bytes | None = None  # MessagePack: the models its lookahead prewarmed


class RunUpdate(Base, frozen=True):
    """A partial update of a run: only the fields given change (None clears a field that may be empty).

    ``process`` names the process that runs it from now on (a resume);
    ``forget`` deletes those nodes' checkpoints in the same transaction (nodes
    that run again on new inputs must not be restored from the old ones).
    """

    state: str | msgspec.UnsetType = msgspec.UNSET
    inputs: bytes | msgspec.UnsetType = msgspec.UNSET
    finished_at: float | msgspec.UnsetType | None = msgspec.UNSET
    process: RunProcess | msgspec.UnsetType | None = msgspec.UNSET
    cancel_requested: bool | msgspec.UnsetType = msgspec.UNSET
    error: str | msgspec.UnsetType | None = msgspec.UNSET
    failure_category: str | msgspec.UnsetType | None = msgspec.UNSET
    outputs: bytes | msgspec.UnsetType | None = msgspec.UNSET
    metrics: bytes | msgspec.UnsetType | None = msgspec.UNSET
    waiting: bytes | msgspec.UnsetType | None = msgspec.UNSET
    prewarmed: bytes | msgspec.UnsetType | None = msgspec.UNSET
    forget: list[str] = msgspec.field(default_factory=list)


class NodeCheckpoint(Base, frozen=True):
    """A node that reached a final state in a run, with its outputs (inline MessagePack or an artifact id).

    When written with a ``cache_key`` and ``state == "succeeded"`` and not
    itself ``cached``, the service also records a :class:`CacheEntry` for it,
    in the same transaction.  ``finished_at`` is set by the service.
    """

    node_id: str
    state: str  # succeeded, failed, skipped, cancelled
    attempts: int = 0
    outputs: bytes | None = None
    outputs_ref: str | None = None
    error: str | None = None
    detail: str | None = None
    cached: bool = False
    queue_wait: float = 0.0
    run_time: float = 0.0
    finished_at: float | None = None
    cache_key: str | None = None
    uses: str = ""


class CacheEntry(Base, frozen=True):
    """Outputs of a successful execution, by cache key; ``workflow_id`` and ``size`` are filled in listings."""

    key: str
    uses: str
    run_id: str
    node_id: str
    created_at: float
    outputs: bytes | None = None
    outputs_ref: str | None = None
    workflow_id: str | None = None
    size: int = 0
