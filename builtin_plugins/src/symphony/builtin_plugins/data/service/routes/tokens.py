"""API tokens: created for oneself (admins: for anyone), shown once, listed without secrets, revocable."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from symphony.hookspecs import new_id

from .. import audit, schemas
from ..auth import digest, new_token
from ..call import Call
from ..models import ApiToken, User, now
from ..problems import forbidden, invalid, not_found


def create(call: Call) -> tuple[int, Any]:
    body = schemas.decode(call.body, schemas.NewTokenBody)
    user_id = body.user_id or call.identity.id
    if user_id != call.identity.id and not call.identity.is_admin:
        raise forbidden("Only an admin may create a token for another user; omit user_id.")
    if call.session.get(User, user_id) is None:
        raise not_found(f"No user {user_id!r}; create the user first.")
    if body.expires_in is not None and body.expires_in > call.settings.max_token_lifetime:
        raise invalid(f"expires_in may be at most {call.settings.max_token_lifetime:.0f} s; choose a shorter lifetime.")
    secret = new_token()
    expires_at = None if body.expires_in is None else now() + timedelta(seconds=body.expires_in)
    row = ApiToken(id=new_id(), user_id=user_id, name=body.name, digest=digest(secret), expires_at=expires_at)
    call.rules.check("token", "create", {"name": body.name, "user_id": user_id}, None)
    call.session.add(row)
    call.session.flush()
    after = schemas.token(row)
    audit.record(call.session, call.identity, "create", "token", row.id, after=after)
    return 201, {"id": row.id, "name": row.name, "token": secret, "expires_at": after["expires_at"]}


def listing(call: Call) -> tuple[int, Any]:
    user_id = call.query.get("user_id", call.identity.id)
    if user_id != call.identity.id and not call.identity.is_admin:
        raise forbidden("Only an admin may list another user's tokens; omit user_id.")
    limit = schemas.page_size(call.query, call.settings.default_page_size, call.settings.max_page_size)
    query = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id).limit(limit + 1)
    if cursor := call.query.get("cursor"):
        query = query.where(ApiToken.id > cursor)
    rows = call.session.execute(query).scalars()
    return 200, schemas.page([schemas.token(row) for row in rows], limit, "id")


def revoke(call: Call) -> tuple[int, Any]:
    token_id = call.params["token_id"]
    row = call.session.get(ApiToken, token_id)
    if row is None or (row.user_id != call.identity.id and not call.identity.is_admin):
        raise not_found(f"No token {token_id!r} of yours; list them with GET /v1/tokens.")
    if row.revoked_at is None:
        before = schemas.token(row)
        row.revoked_at = now()
        audit.record(call.session, call.identity, "revoke", "token", row.id, before=before, after=schemas.token(row))
    return 204, None


ROUTES = [
    ("POST", "/v1/tokens", create),
    ("GET", "/v1/tokens", listing),
    ("DELETE", "/v1/tokens/{token_id}", revoke),
]
