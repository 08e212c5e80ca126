"""Extension grants, trust marks and the permission checker's decisions, each identity's its own.

Every record belongs to the identity that wrote it (its owner); a caller reads and changes its own
only, and an admin may read another's with ``?owner=``.  Viewers read theirs and may withdraw
(revoke, untrust) but not grant or trust: those widen what code may do.  Grant and trust changes
bump the owner's version counter in the same transaction (hosts poll it to notice another
process's ``symphony ext grant``) and are audited in the audit log; decisions are appended to
``permission_audit`` only (they are an audit themselves).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

import msgspec
from sqlalchemy import bindparam, delete, insert, select, tuple_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .. import audit, schemas
from ..auth import Identity
from ..call import Call
from ..models import EXTENSION_GRANTS, EXTENSION_TRUST, PERMISSION_AUDIT, PERMISSION_VERSIONS
from ..problems import forbidden, invalid
from ..schemas import _Body as Body

#: Records one write carries at most (grants, revoked permissions, decisions).
MAX_BATCH = 1000
#: Listing pages: default and largest size.
DEFAULT_PAGE, MAX_PAGE = 100, 1000

Extension = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text = Annotated[str, msgspec.Meta(max_length=2000)]
Long = Annotated[str, msgspec.Meta(max_length=20_000)]
Who = Annotated[str, msgspec.Meta(max_length=200)]
Distribution = Annotated[str, msgspec.Meta(max_length=500)]
Permission = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Count = Annotated[int, msgspec.Meta(ge=0)]
Time = Annotated[float, msgspec.Meta(ge=0)]


class Budget(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    calls: Count | None = None
    tokens: Count | None = None
    cost: Annotated[float, msgspec.Meta(ge=0)] | None = None


class GrantBody(Body, frozen=True):
    extension: Extension
    permission: Permission
    granted_at: Time
    granted_by: Who
    source: Who
    budget: Budget | None = None
    identity: Distribution | None = None


class GrantsBody(Body, frozen=True):
    grants: Annotated[list[GrantBody], msgspec.Meta(max_length=MAX_BATCH)]


class RevokeBody(Body, frozen=True):
    extension: Extension
    permissions: Annotated[list[Permission], msgspec.Meta(max_length=MAX_BATCH)] | None = None


class TrustBody(Body, frozen=True):
    extension: Extension
    trusted_at: Time
    trusted_by: Who
    identity: Distribution | None = None


class DecisionBody(Body, frozen=True):
    at: Time
    extension: Extension
    kind: Annotated[str, msgspec.Meta(max_length=32)]
    permission: Text
    target: Long
    decision: Literal["allowed", "denied"]
    rule: Text
    reason: Long
    run_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    mode: Literal["enforce", "learn"] = "enforce"


class DecisionsBody(Body, frozen=True):
    decisions: Annotated[list[DecisionBody], msgspec.Meta(max_length=MAX_BATCH)]


def _bumps() -> dict[str, Any]:
    built = {}
    for dialect, make in (("sqlite", sqlite_insert), ("postgresql", postgresql_insert)):
        statement = make(PERMISSION_VERSIONS).values(owner_id=bindparam("owner_id"), version=1)
        built[dialect] = statement.on_conflict_do_update(
            index_elements=["owner_id"], set_={"version": PERMISSION_VERSIONS.c.version + 1}
        )
    return built


def _grant_upserts() -> dict[str, Any]:
    built = {}
    for dialect, make in (("sqlite", sqlite_insert), ("postgresql", postgresql_insert)):
        statement = make(EXTENSION_GRANTS)
        changed = ("granted_at", "granted_by", "source", "budget_calls", "budget_tokens", "budget_cost", "identity")
        built[dialect] = statement.on_conflict_do_update(
            index_elements=["owner_id", "extension", "permission"],
            set_={name: statement.excluded[name] for name in changed},
        )
    return built


def _trust_upserts() -> dict[str, Any]:
    built = {}
    for dialect, make in (("sqlite", sqlite_insert), ("postgresql", postgresql_insert)):
        statement = make(EXTENSION_TRUST)
        built[dialect] = statement.on_conflict_do_update(
            index_elements=["owner_id", "extension"],
            set_={name: statement.excluded[name] for name in ("trusted_at", "trusted_by", "identity")},
        )
    return built


# Built once: a statement's cache key is then computed once.
_BUMP = _bumps()
_UPSERT_GRANTS = _grant_upserts()
_UPSERT_TRUST = _trust_upserts()
_VERSION = select(PERMISSION_VERSIONS.c.version).where(PERMISSION_VERSIONS.c.owner_id == bindparam("owner_id"))
_APPEND = insert(PERMISSION_AUDIT)
_GRANT_COLUMNS = [
    EXTENSION_GRANTS.c[name]
    for name in (
        "extension",
        "permission",
        "granted_at",
        "granted_by",
        "source",
        "budget_calls",
        "budget_tokens",
        "budget_cost",
        "identity",
    )
]
_TRUST_COLUMNS = [EXTENSION_TRUST.c[name] for name in ("extension", "trusted_at", "trusted_by", "identity")]
_DECISION_FIELDS = ("id", "at", "extension", "kind", "permission", "target", "decision", "rule", "reason", "run_id")
_DECISION_COLUMNS = [PERMISSION_AUDIT.c[name] for name in (*_DECISION_FIELDS, "mode")]


def bump_version(session: Session, owner_id: str) -> None:
    """Move ``owner_id``'s version on, in the caller's transaction (the change and its version commit together)."""
    session.connection().execute(_BUMP[session.connection().dialect.name], {"owner_id": owner_id})


def _dialect(call: Call) -> str:
    return call.session.connection().dialect.name


def _owner(call: Call) -> str:
    """Whose records a read is about: the caller's, or (admins only) those of ``?owner=``."""
    owner = call.query.get("owner", call.identity.id)
    if owner != call.identity.id and not call.identity.is_admin:
        raise forbidden("Only an admin may read another identity's permission records; omit owner.")
    return owner


def _may_widen(identity: Identity, what: str) -> None:
    if identity.role == "viewer":
        raise forbidden(f"A viewer may not {what}: that widens what extensions may do; ask for the editor role.")


def _encode_cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(list(key))).decode()


def _decode_cursor(call: Call, size: int) -> list[Any] | None:
    raw = call.query.get("cursor")
    if raw is None:
        return None
    try:
        key = msgspec.json.decode(base64.urlsafe_b64decode(raw.encode()))
    except (binascii.Error, ValueError, msgspec.DecodeError):
        key = None
    if not isinstance(key, list) or len(key) != size:
        raise invalid("cursor must be the next_cursor of the previous page.")
    return key


def _page(items: list[dict[str, Any]], limit: int, *key: str) -> dict[str, Any]:
    last = items[limit - 1] if len(items) > limit else None
    return {"items": items[:limit], "next_cursor": None if last is None else _encode_cursor(*(last[k] for k in key))}


# -- grants -----------------------------------------------------------------------------------


def _grant(row: Any) -> dict[str, Any]:
    has_budget = any(value is not None for value in (row.budget_calls, row.budget_tokens, row.budget_cost))
    return {
        "extension": row.extension,
        "permission": row.permission,
        "granted_at": row.granted_at,
        "granted_by": row.granted_by,
        "source": row.source,
        "budget": {"calls": row.budget_calls, "tokens": row.budget_tokens, "cost": row.budget_cost}
        if has_budget
        else None,
        "identity": row.identity,
    }


def grants(call: Call) -> tuple[int, Any]:
    limit = schemas.page_size(call.query, DEFAULT_PAGE, MAX_PAGE)
    query = (
        select(*_GRANT_COLUMNS)
        .where(EXTENSION_GRANTS.c.owner_id == _owner(call))
        .order_by(EXTENSION_GRANTS.c.extension, EXTENSION_GRANTS.c.permission)
        .limit(limit + 1)
    )
    if extension := call.query.get("extension"):
        query = query.where(EXTENSION_GRANTS.c.extension == extension)
    if (cursor := _decode_cursor(call, 2)) is not None:
        query = query.where(tuple_(EXTENSION_GRANTS.c.extension, EXTENSION_GRANTS.c.permission) > tuple(cursor))
    rows = call.session.connection().execute(query)
    return 200, _page([_grant(row) for row in rows], limit, "extension", "permission")


def grant(call: Call) -> tuple[int, Any]:
    _may_widen(call.identity, "grant permissions")
    body = schemas.decode(call.body, GrantsBody)
    if not body.grants:
        return 204, None
    owner = call.identity.id
    rows: list[dict[str, Any]] = [
        {
            "owner_id": owner,
            "extension": item.extension,
            "permission": item.permission,
            "granted_at": item.granted_at,
            "granted_by": item.granted_by,
            "source": item.source,
            "budget_calls": item.budget.calls if item.budget else None,
            "budget_tokens": item.budget.tokens if item.budget else None,
            "budget_cost": item.budget.cost if item.budget else None,
            "identity": item.identity,
        }
        for item in {(item.extension, item.permission): item for item in body.grants}.values()  # the last one wins
    ]
    connection = call.session.connection()
    connection.execute(_UPSERT_GRANTS[_dialect(call)], rows)
    bump_version(call.session, owner)
    by_extension: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_extension.setdefault(row["extension"], []).append(row)
    for extension, granted in by_extension.items():
        after = {
            "extension": extension,
            "permissions": [row["permission"] for row in granted],
            "sources": sorted({row["source"] for row in granted}),
        }
        audit.record(call.session, call.identity, "grant", "permissions", owner, after=after)
    return 204, None


def revoke(call: Call) -> tuple[int, Any]:
    body = schemas.decode(call.body, RevokeBody)
    owner = call.identity.id
    statement = delete(EXTENSION_GRANTS).where(
        EXTENSION_GRANTS.c.owner_id == owner, EXTENSION_GRANTS.c.extension == body.extension
    )
    if body.permissions is not None:
        if not body.permissions:
            return 200, {"revoked": []}
        statement = statement.where(EXTENSION_GRANTS.c.permission.in_(body.permissions))
    revoked = sorted(call.session.connection().execute(statement.returning(EXTENSION_GRANTS.c.permission)).scalars())
    if revoked:
        bump_version(call.session, owner)
        before = {"extension": body.extension, "permissions": revoked}
        audit.record(call.session, call.identity, "revoke", "permissions", owner, before=before)
    return 200, {"revoked": revoked}


# -- trust ------------------------------------------------------------------------------------


def trust_marks(call: Call) -> tuple[int, Any]:
    limit = schemas.page_size(call.query, DEFAULT_PAGE, MAX_PAGE)
    query = (
        select(*_TRUST_COLUMNS)
        .where(EXTENSION_TRUST.c.owner_id == _owner(call))
        .order_by(EXTENSION_TRUST.c.extension)
        .limit(limit + 1)
    )
    if (cursor := _decode_cursor(call, 1)) is not None:
        query = query.where(EXTENSION_TRUST.c.extension > cursor[0])
    rows = call.session.connection().execute(query)
    return 200, _page([dict(row._mapping) for row in rows], limit, "extension")


def trust(call: Call) -> tuple[int, Any]:
    _may_widen(call.identity, "trust extensions")
    body = schemas.decode(call.body, TrustBody)
    owner = call.identity.id
    row = {"owner_id": owner, **msgspec.structs.asdict(body)}
    call.session.connection().execute(_UPSERT_TRUST[_dialect(call)], row)
    bump_version(call.session, owner)
    after = {"extension": body.extension, "identity": body.identity}
    audit.record(call.session, call.identity, "trust", "permissions", owner, after=after)
    return 204, None


def untrust(call: Call) -> tuple[int, Any]:
    extension = call.params["extension"]
    owner = call.identity.id
    statement = delete(EXTENSION_TRUST).where(
        EXTENSION_TRUST.c.owner_id == owner, EXTENSION_TRUST.c.extension == extension
    )
    removed = call.session.connection().execute(statement.returning(EXTENSION_TRUST.c.extension)).first() is not None
    if removed:
        bump_version(call.session, owner)
        audit.record(call.session, call.identity, "untrust", "permissions", owner, before={"extension": extension})
    return 200, {"removed": removed}


def version(call: Call) -> tuple[int, Any]:
    found = call.session.connection().execute(_VERSION, {"owner_id": _owner(call)}).scalar_one_or_none()
    return 200, {"version": found or 0}


# -- decisions --------------------------------------------------------------------------------


def record_decisions(call: Call) -> tuple[int, Any]:
    body = schemas.decode(call.body, DecisionsBody)
    if body.decisions:
        owner = call.identity.id
        rows = [{"owner_id": owner, **msgspec.structs.asdict(item)} for item in body.decisions]
        call.session.connection().execute(_APPEND, rows)
    return 204, None


def decisions(call: Call) -> tuple[int, Any]:
    limit = schemas.page_size(call.query, DEFAULT_PAGE, MAX_PAGE)
    query = (
        select(*_DECISION_COLUMNS)
        .where(PERMISSION_AUDIT.c.owner_id == _owner(call))
        .order_by(PERMISSION_AUDIT.c.id.desc())
        .limit(limit + 1)
    )
    if extension := call.query.get("extension"):
        query = query.where(PERMISSION_AUDIT.c.extension == extension)
    if (decision := call.query.get("decision")) is not None:
        if decision not in ("allowed", "denied"):
            raise invalid(f"decision must be allowed or denied, not {decision[:20]!r}.")
        query = query.where(PERMISSION_AUDIT.c.decision == decision)
    if run_id := call.query.get("run_id"):
        query = query.where(PERMISSION_AUDIT.c.run_id == run_id)
    if (cursor := call.query.get("cursor")) is not None:
        if not cursor.isdigit():
            raise invalid("cursor must be the next_cursor of the previous page.")
        query = query.where(PERMISSION_AUDIT.c.id < int(cursor))
    items = [dict(row._mapping) for row in call.session.connection().execute(query)]
    return 200, schemas.page(items, limit, "id")


ROUTES = [
    ("GET", "/v1/permissions/grants", grants),
    ("PUT", "/v1/permissions/grants", grant),
    ("POST", "/v1/permissions/grants/revoke", revoke),
    ("GET", "/v1/permissions/trust", trust_marks),
    ("PUT", "/v1/permissions/trust", trust),
    ("DELETE", "/v1/permissions/trust/{extension}", untrust),
    ("GET", "/v1/permissions/version", version),
    ("POST", "/v1/permissions/decisions", record_decisions),
    ("GET", "/v1/permissions/decisions", decisions),
]
