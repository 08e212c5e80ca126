"""The append-only audit log: every write adds one row in its own transaction, so none goes unrecorded."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from .auth import Identity
from .models import AUDIT_LOG, now

_INSERT = insert(AUDIT_LOG)


def record(
    session: Session,
    actor: Identity | str,
    action: str,
    resource: str,
    resource_id: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add the audit row of a write to ``session`` (committed, or rolled back, with the write)."""
    session.connection().execute(
        _INSERT,
        {
            "at": now(),
            "actor": actor if isinstance(actor, str) else actor.id,
            "action": action,
            "resource": resource,
            "resource_id": resource_id,
            "before": before,
            "after": after,
        },
    )
