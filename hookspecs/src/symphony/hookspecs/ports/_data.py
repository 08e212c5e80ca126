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
    name: str
    email: str


class WorkflowRecord(Base, frozen=True):
    """A persisted workflow."""

    id: WorkflowId
    name: str
    spec: dict[str, Any] = msgspec.field(default_factory=dict)
    owner: UserId | None = None


class User(Base, frozen=True):
    id: UserId
    name: str
    email: str


@runtime_checkable
class DataAccessPort(Protocol):
    """Each call is one request to the data service; errors are DataError subclasses."""

    async def create_workflow(self, request: CreateWorkflowRequest) -> WorkflowRecord: ...

    async def get_workflow(self, workflow_id: WorkflowId) -> WorkflowRecord | None: ...

    async def create_user(self, request: CreateUserRequest) -> User: ...

    async def get_user(self, user_id: UserId) -> User | None: ...
