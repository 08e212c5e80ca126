"""Users and service identities: admins manage them; anyone reads themselves."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from symphony.hookspecs import new_id

from .. import audit, schemas
from ..call import Call
from ..models import User
from ..problems import forbidden, invalid, not_found


def me(call: Call) -> tuple[int, Any]:
    row = call.session.get(User, call.identity.id)
    if row is None:
        raise not_found("Your user no longer exists; ask an admin.")
    return 200, schemas.user(row)


def create(call: Call) -> tuple[int, Any]:
    if not call.identity.is_admin:
        raise forbidden("Only an admin may create users; ask one.")
    body = schemas.decode(call.body, schemas.NewUser)
    row = User(id=new_id(), name=body.name, email=body.email, role=body.role)
    record = {"name": body.name, "email": body.email, "role": body.role}
    call.rules.check("user", "create", record, None)
    call.session.add(row)
    try:
        call.session.flush()
    except IntegrityError:
        raise invalid(f"A user with email {body.email!r} already exists; use another email.") from None
    after = schemas.user(row)
    audit.record(call.session, call.identity, "create", "user", row.id, after=after)
    return 201, after


def listing(call: Call) -> tuple[int, Any]:
    if not call.identity.is_admin:
        raise forbidden("Only an admin may list users; GET /v1/me shows yourself.")
    limit = schemas.page_size(call.query, call.settings.default_page_size, call.settings.max_page_size)
    query = select(User).order_by(User.id).limit(limit + 1)
    if cursor := call.query.get("cursor"):
        query = query.where(User.id > cursor)
    rows = call.session.execute(query).scalars()
    return 200, schemas.page([schemas.user(row) for row in rows], limit, "id")


def show(call: Call) -> tuple[int, Any]:
    user_id = call.params["user_id"]
    if not call.identity.is_admin and user_id != call.identity.id:
        raise forbidden("Only an admin may read another user; GET /v1/me shows yourself.")
    row = call.session.get(User, user_id)
    if row is None:
        raise not_found(f"No user {user_id!r}; list them with GET /v1/users.")
    return 200, schemas.user(row)


ROUTES = [
    ("GET", "/v1/me", me),
    ("POST", "/v1/users", create),
    ("GET", "/v1/users", listing),
    ("GET", "/v1/users/{user_id}", show),
]
