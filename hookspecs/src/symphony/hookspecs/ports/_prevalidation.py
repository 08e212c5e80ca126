"""PreValidationPort: fast technical checks before a request is attempted (seed M1.6).

Synchronous on purpose: the seed's budget is under 1 ms, and no I/O is allowed
beyond reading a local file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from ._data import CreateUserRequest, CreateWorkflowRequest, UpdateWorkflowRequest

__all__ = ["PreValidationPort"]


@runtime_checkable
class PreValidationPort(Protocol):
    """Fast technical checks, so a malformed request is refused before any I/O or work is spent on it.

    Provided by:
        ``symphony_provide_pre_validation``; builtin: plugin ``extensions``
        (the manifest checker plus every ``symphony_pre_validators`` check).

    Lifetime:
        Stateless: each call stands alone.

    Threads and processes:
        Synchronous and side-effect free, so safe to call from any thread.

    Errors:
        Each method returns None or raises PreValidationError listing every problem.

    Since:
        1.0
    """

    def validate_workflow_request(self, request: CreateWorkflowRequest) -> None:
        """Check a request to store a workflow (name, document shape); raises PreValidationError."""
        ...

    def validate_workflow_update(self, request: UpdateWorkflowRequest) -> None:
        """Check a new version of a workflow (the ``workflow_update`` checks); raises PreValidationError."""
        ...

    def validate_user_request(self, request: CreateUserRequest) -> None:
        """Check a request to create a user (name, email form); raises PreValidationError."""
        ...

    def validate_extension_manifest(self, path: Path) -> None:
        """Check the extension manifest at ``path`` (may read that file only); raises PreValidationError."""
        ...
