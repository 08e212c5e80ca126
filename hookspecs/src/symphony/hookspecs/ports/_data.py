"""DataAccessPort: the data layer behind the two-layer architecture (seed M1.6)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import msgspec

from .._base import Base
from .._ids import UserId, WorkflowId

__all__ = ["CreateUserRequest", "CreateWorkflowRequest", "DataAccessPort", "User", "WorkflowRecord"]


class CreateWorkflowRequest(Base, frozen=True):
    """Persist a workflow document under ``name`` for ``owner``."""

    name: str
    spec: dict[str, Any]
    owner: UserId | None = None


class CreateUserRequest(Base, frozen=True):
    """Create a user called ``name`` reachable at ``email``."""

    name: str
    email: str


class WorkflowRecord(Base, frozen=True):
    """A persisted workflow."""

    id: WorkflowId
    name: str
    spec: dict[str, Any] = msgspec.field(default_factory=dict)
    owner: UserId | None = None


class User(Base, frozen=True):
    """A user the data service knows."""

    id: UserId
    name: str
    email: str


@runtime_checkable
class DataAccessPort(Protocol):
    """The data layer behind the two-layer architecture, so callers never speak to a database directly.

    Provided by:
        ``symphony_provide_data_access``; no builtin provides it yet.

    Lifetime:
        One per host; records outlive it (they are the data service's).

    Threads and processes:
        Call from the host's event loop; each call is one request to the data
        service, which may be in another process or on another machine.

    Errors:
        DataError subclasses only: ValidationError (the service refused the
        request), AuthorizationError, NotFoundError, NetworkError (the service
        could not be reached; retrying may help).

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
