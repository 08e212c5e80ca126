"""The append-only audit log: every write adds one row in its own transaction, so none goes unrecorded."""

from __future__ import annotations

from collections.abc import Sequence
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
    record_many(session, actor, action, resource, [(resource_id, before, after)])


def record_many(
    session: Session,
    actor: Identity | str,
    action: str,
    resource: str,
    rows: Sequence[tuple[str, dict[str, Any] | None, dict[str, Any] | None]],
) -> None:
    """The audit rows of one write touching many resources (``resource_id``, before, after), in one statement."""
    if not rows:
        return
    at, who = now(), actor if isinstance(actor, str) else actor.id
    session.connection().execute(
        _INSERT,
        [
            {
                "at": at,
                "actor": who,
                "action": action,
                "resource": resource,
                "resource_id": resource_id,
                "before": before,
                "after": after,
            }
            for resource_id, before, after in rows
        ],
    )
