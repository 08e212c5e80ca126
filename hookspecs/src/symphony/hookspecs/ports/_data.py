"""DataAccessPort: the data layer behind the two-layer architecture (seed M1.6)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

import msgspec

from .._base import Base
from .._ids import UserId, WorkflowId
from ._run_records import CacheEntry, NewRun, NodeCheckpoint, RunRecord, RunSummary, RunUpdate

__all__ = [
    "AuditRecord",
    "CreateTokenRequest",
    "CreateUserRequest",
    "CreateWorkflowRequest",
    "DataAccessPort",
    "NewToken",
    "Page",
    "TokenRecord",
    "UpdateWorkflowRequest",
    "User",
    "WorkflowRecord",
    "WorkflowVersionRecord",
]

T = TypeVar("T")


class CreateWorkflowRequest(Base, frozen=True):
    """Persist a workflow document under ``name`` for ``owner``."""

    name: str
    spec: dict[str, Any]
    owner: UserId | None = None


class UpdateWorkflowRequest(Base, frozen=True):
    """Store a new version of workflow ``id``, only if its current version is still ``expected_version``.

    The expected version makes concurrent writers safe: the second of two
    writers from the same version is refused instead of silently overwriting.
    """

    id: WorkflowId
    spec: dict[str, Any]
    expected_version: int
    name: str | None = None


class CreateUserRequest(Base, frozen=True):
    """Create a user called ``name`` reachable at ``email`` with ``role`` (admin, editor or viewer)."""

    name: str
    email: str
    role: str = "viewer"


class CreateTokenRequest(Base, frozen=True):
    """Create an API token called ``name``; ``user_id`` (admins only) makes it for someone else."""

    name: str
    expires_in: float | None = None
    user_id: UserId | None = None


class WorkflowRecord(Base, frozen=True):
    """A persisted workflow; ``version`` counts its stored versions from 1."""

    id: WorkflowId
    name: str
    spec: dict[str, Any] = msgspec.field(default_factory=dict)
    owner: UserId | None = None
    version: int = 1


class WorkflowVersionRecord(Base, frozen=True):
    """One stored version of a workflow, as it was written, by whom and when."""

    workflow_id: WorkflowId
    version: int
    name: str
    spec: dict[str, Any] = msgspec.field(default_factory=dict)
    author: UserId | None = None
    created_at: datetime | None = None


class User(Base, frozen=True):
    """A user (or service identity, role ``service``) the data service knows."""

    id: UserId
    name: str
    email: str
    role: str = "viewer"


class NewToken(Base, frozen=True):
    """A token just created: ``token`` is its secret, shown this once and never again."""

    id: str
    name: str
    token: str
    expires_at: datetime | None = None


class TokenRecord(Base, frozen=True):
    """A stored token as listed: never its secret."""

    id: str
    name: str
    user_id: UserId
    expires_at: datetime | None = None
    revoked: bool = False


class AuditRecord(Base, frozen=True):
    """One write as the append-only audit log recorded it: who, what, when, before and after."""

    id: int
    at: datetime
    actor: str
    action: str
    resource: str
    resource_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class Page(Base, Generic[T], frozen=True):
    """One page of a listing; pass ``next_cursor`` back for the next (None: this was the last)."""

    items: list[T]
    next_cursor: str | None = None


@runtime_checkable
class DataAccessPort(Protocol):
    """The data layer behind the two-layer architecture, so callers never speak to a database directly.

    Provided by:
        ``symphony_provide_data_access``; builtin: plugin ``data`` (the
        embedded service on SQLite, or a remote one when configured).

    Lifetime:
        One per host; records outlive it (they are the data service's).

    Threads and processes:
        Call from the host's event loop; each call is one request to the data
        service, which may be in another process or on another machine.

    Errors:
        DataError subclasses only: PreValidationError (a technical check failed
        before any request), ValidationError (the service refused the request,
        including a stale ``expected_version``), AuthorizationError,
        NotFoundError, NetworkError (the service could not be reached; a write
        may be retried: it carries the same idempotency key).

    Since:
        1.0
    """

    async def create_workflow(self, request: CreateWorkflowRequest) -> WorkflowRecord:
        """Persist a workflow document; return the stored record with its new id.

        Raises:
            ValidationError: the service refused the document or name.
            NetworkError: the service could not be reached.
        """
        ...

    async def get_workflow(self, workflow_id: WorkflowId) -> WorkflowRecord | None:
        """The stored workflow, or None when there is none with this id; raises NetworkError."""
        ...

    async def create_user(self, request: CreateUserRequest) -> User:
        """Create a user; return it with its new id.

        Raises:
            ValidationError: the service refused the request (e.g. the email is taken).
            NetworkError: the service could not be reached.
        """
        ...

    async def get_user(self, user_id: UserId) -> User | None:
        """The user, or None when there is none with this id; raises NetworkError."""
        ...

    async def update_workflow(self, request: UpdateWorkflowRequest) -> WorkflowRecord:
        """Store a new version of a workflow; return it with its version raised by one.

        Raises:
            ValidationError: the document was refused, or ``expected_version`` is stale (re-read and retry).
            AuthorizationError: the caller may not edit this workflow.
            NotFoundError: there is no such workflow (or the caller may not see it).
        """
        ...

    async def list_workflows(self, *, limit: int = 50, cursor: str | None = None) -> Page[WorkflowRecord]:
        """The workflows the caller may see, one page at a time."""
        ...

    async def list_workflow_versions(
        self, workflow_id: WorkflowId, *, limit: int = 50, cursor: str | None = None
    ) -> Page[WorkflowVersionRecord]:
        """Every stored version of a workflow the caller may see, oldest first; raises NotFoundError."""
        ...

    async def get_workflow_version(self, workflow_id: WorkflowId, version: int) -> WorkflowVersionRecord | None:
        """One stored version of a workflow, or None when it (or the workflow) is not there for the caller."""
        ...

    async def delete_workflow(self, workflow_id: WorkflowId) -> None:
        """Delete a workflow and its versions (owner or admin); raises NotFoundError, AuthorizationError."""
        ...

    async def share_workflow(self, workflow_id: WorkflowId, user_id: UserId, role: str = "viewer") -> None:
        """Let ``user_id`` read (``viewer``) or also edit (``editor``) a workflow (owner or admin)."""
        ...

    async def unshare_workflow(self, workflow_id: WorkflowId, user_id: UserId) -> None:
        """Withdraw a share (owner or admin)."""
        ...

    async def list_users(self, *, limit: int = 50, cursor: str | None = None) -> Page[User]:
        """Every user, one page at a time (admins only)."""
        ...

    async def me(self) -> User:
        """The identity the caller's token stands for; raises AuthorizationError when it is not valid."""
        ...

    async def create_token(self, request: CreateTokenRequest) -> NewToken:
        """Create an API token; its secret is in the result only."""
        ...

    async def list_tokens(
        self, *, user_id: UserId | None = None, limit: int = 50, cursor: str | None = None
    ) -> Page[TokenRecord]:
        """The caller's tokens, or ``user_id``'s for an admin, without their secrets."""
        ...

    async def revoke_token(self, token_id: str) -> None:
        """Revoke a token at once (its owner or an admin); raises NotFoundError."""
        ...

    async def list_audit(
        self,
        *,
        limit: int = 50,
        cursor: str | None = None,
        resource: str | None = None,
        actor: str | None = None,
    ) -> Page[AuditRecord]:
        """The audit log, newest first, optionally for one resource kind or actor (admins only)."""
        ...

    # -- runs: what the DAG tracker records (see _run_records) ----------------------------------

    async def create_run(self, request: NewRun) -> RunRecord:
        """Record a run this caller starts now (state ``running``), owned by the caller.

        Raises:
            ValidationError: a run with this id exists, or a field is malformed.
            AuthorizationError: the caller may not start runs (viewers).
        """
        ...

    async def get_run(self, run_id: str) -> RunRecord | None:
        """The run whose id is, or uniquely starts with (4 characters or more), ``run_id``; None when none is.

        Raises:
            ValidationError: the prefix matches more than one run.
        """
        ...

    async def list_runs(
        self,
        *,
        limit: int = 50,
        cursor: str | None = None,
        state: str | None = None,
        finished_before: float | None = None,
    ) -> Page[RunSummary]:
        """The runs the caller may see, newest first.

        ``finished_before`` keeps only finished runs that finished before it, oldest first (retention).
        """
        ...

    async def update_run(self, run_id: str, update: RunUpdate) -> None:
        """Change the fields ``update`` gives (and forget its ``forget`` nodes) in one transaction.

        Raises:
            NotFoundError: there is no such run (or the caller may not see it).
            AuthorizationError: the caller may see but not change it.
        """
        ...

    async def delete_runs(self, run_ids: list[str], *, finished_before: float) -> list[str]:
        """Delete those of ``run_ids`` still finished before ``finished_before``, with their nodes; return them."""
        ...

    async def save_nodes(self, run_id: str, nodes: list[NodeCheckpoint]) -> None:
        """Record (or replace) these nodes' checkpoints and their cache entries in one transaction.

        Durable when it returns: the tracker starts no dependant of a node before
        its checkpoint is saved.  Writing the same checkpoints again is harmless.

        Raises:
            NotFoundError: there is no such run (or the caller may not see it).
            AuthorizationError: the caller may not change it.
        """
        ...

    async def copy_nodes(self, source: str, target: str, node_ids: list[str]) -> None:
        """Record the checkpoints of ``node_ids`` in run ``source`` as they are in run ``target`` (a retry)."""
        ...

    async def run_nodes(self, run_id: str) -> list[NodeCheckpoint]:
        """Every checkpoint of a run (empty when none yet); raises NotFoundError for an unknown run."""
        ...

    async def cached_node(self, key: str) -> CacheEntry | None:
        """The node cache's entry under ``key`` (with its outputs), or None."""
        ...

    async def list_cache(self, *, limit: int = 500, cursor: str | None = None) -> Page[CacheEntry]:
        """The node cache, newest first, without outputs but with ``size`` and the run's ``workflow_id``."""
        ...

    async def delete_cache(self, keys: list[str]) -> None:
        """Delete these cache entries (keys not present are ignored); admins and service identities only."""
        ...
