"""Request bodies as msgspec types (lengths bounded here) and the JSON shapes of stored records."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

import msgspec

from symphony.hookspecs import ValidationError, decode_bounded

from .models import ApiToken, AuditEntry, User, Workflow, WorkflowVersion
from .problems import invalid

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Role = Literal["admin", "editor", "viewer", "service"]


class _Body(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    pass


class NewUser(_Body, frozen=True):
    name: Name
    email: Email
    role: Role = "viewer"


class NewTokenBody(_Body, frozen=True):
    name: Name
    expires_in: Annotated[float, msgspec.Meta(gt=0)] | None = None
    user_id: Id | None = None


class NewWorkflow(_Body, frozen=True):
    name: Name
    spec: dict[str, Any]
    owner: Id | None = None


class WorkflowUpdate(_Body, frozen=True):
    spec: dict[str, Any]
    expected_version: Annotated[int, msgspec.Meta(ge=1)]
    name: Name | None = None


class ShareBody(_Body, frozen=True):
    role: Literal["viewer", "editor"]


B = TypeVar("B", bound=_Body)


def decode(body: bytes, kind: type[B]) -> B:
    """The body as ``kind``; a 422 problem saying which field is wrong otherwise."""
    try:
        return decode_bounded(
            lambda: msgspec.json.decode(body, type=kind), what="The request body", error=ValidationError
        )
    except msgspec.ValidationError as error:
        raise invalid(f"The request body is invalid: {error}; fix that field.") from None
    except msgspec.DecodeError as error:
        raise invalid(f"The request body is not JSON: {error}.") from None
    except ValidationError as error:
        raise invalid(error.message) from None


def user(row: User) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "email": row.email, "role": row.role}


def workflow(row: Workflow) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "spec": row.spec, "owner": row.owner_id, "version": row.version}


def version(row: WorkflowVersion) -> dict[str, Any]:
    return {
        "workflow_id": row.workflow_id,
        "version": row.version,
        "name": row.name,
        "spec": row.spec,
        "author": row.author_id,
        "created_at": _iso(row.created_at),
    }


def token(row: ApiToken) -> dict[str, Any]:
    """A token as listed and audited: never its secret nor its digest."""
    return {
        "id": row.id,
        "name": row.name,
        "user_id": row.user_id,
        "expires_at": _iso(row.expires_at),
        "revoked": row.revoked_at is not None,
    }


def audit(row: AuditEntry) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": _iso(row.at),
        "actor": row.actor,
        "action": row.action,
        "resource": row.resource,
        "resource_id": row.resource_id,
        "before": row.before,
        "after": row.after,
    }


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def page(items: list[dict[str, Any]], limit: int, cursor_of: str) -> dict[str, Any]:
    """A listing page: ``next_cursor`` is the last item's key when the page is full."""
    more = len(items) > limit
    return {"items": items[:limit], "next_cursor": str(items[limit - 1][cursor_of]) if more else None}


def page_size(query: Mapping[str, str], default: int, largest: int) -> int:
    raw = query.get("limit")
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= largest:
        raise invalid(f"limit must be a whole number from 1 to {largest}, not {raw[:20]!r}; page with next_cursor.")
    return int(raw)
