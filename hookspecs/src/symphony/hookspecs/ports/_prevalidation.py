"""PreValidationPort: fast technical checks before a request is attempted (seed M1.6).

Synchronous on purpose: the seed's budget is under 1 ms, and no I/O is allowed
beyond reading a local file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from ._data import CreateUserRequest, CreateWorkflowRequest

__all__ = ["PreValidationPort"]


@runtime_checkable
class PreValidationPort(Protocol):
    """Each method returns None or raises PreValidationError listing every problem."""

    def validate_workflow_request(self, request: CreateWorkflowRequest) -> None: ...

    def validate_user_request(self, request: CreateUserRequest) -> None: ...

    def validate_extension_manifest(self, path: Path) -> None: ...
