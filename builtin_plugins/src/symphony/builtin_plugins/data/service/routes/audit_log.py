"""The audit log, newest first, for admins."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from .. import schemas
from ..call import Call
from ..models import AuditEntry
from ..problems import forbidden, invalid


def listing(call: Call) -> tuple[int, Any]:
    if not call.identity.is_admin:
        raise forbidden("Only an admin may read the audit log; ask one.")
    limit = schemas.page_size(call.query, call.settings.default_page_size, call.settings.max_page_size)
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if cursor := call.query.get("cursor"):
        if not cursor.isdigit():
            raise invalid("cursor must be the next_cursor of the previous page.")
        query = query.where(AuditEntry.id < int(cursor))
    if resource := call.query.get("resource"):
        query = query.where(AuditEntry.resource == resource)
    if actor := call.query.get("actor"):
        query = query.where(AuditEntry.actor == actor)
    rows = call.session.execute(query).scalars()
    return 200, schemas.page([schemas.audit(row) for row in rows], limit, "id")


ROUTES = [("GET", "/v1/audit", listing)]
