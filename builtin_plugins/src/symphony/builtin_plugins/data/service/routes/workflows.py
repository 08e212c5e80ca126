"""Workflows with versions and sharing; updates are optimistic (``expected_version``), so none is lost."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, bindparam, insert, literal, or_, select, update
from sqlalchemy import delete as delete_statement
from sqlalchemy.exc import IntegrityError

from symphony.hookspecs import new_id

from .. import audit, schemas
from ..call import Call
from ..models import AUDIT_LOG, WORKFLOW_VERSIONS, WORKFLOWS, User, Workflow, WorkflowShare, WorkflowVersion, now
from ..problems import conflict, forbidden, invalid, not_found

_INSERT = insert(WORKFLOWS)
_INSERT_VERSION = insert(WORKFLOW_VERSIONS)
# A workflow of the path read and deleted with Core: an ORM load costs as much again as the query (~0.1 ms).
_CURRENT = select(WORKFLOWS.c.id, WORKFLOWS.c.name, WORKFLOWS.c.spec, WORKFLOWS.c.owner_id, WORKFLOWS.c.version).where(
    WORKFLOWS.c.id == bindparam("workflow_id")
)
# PostgreSQL: a new workflow, its version 1 and its audit row in one statement (data-modifying CTEs), one round trip
# instead of three; the same rows as the separate statements SQLite runs.
_CREATED = (
    insert(WORKFLOWS)
    .values(
        id=bindparam("id"),
        owner_id=bindparam("owner_id"),
        name=bindparam("name"),
        spec=bindparam("spec", type_=WORKFLOWS.c.spec.type),
        version=1,
        created_at=bindparam("at", type_=WORKFLOWS.c.created_at.type),
        updated_at=bindparam("at", type_=WORKFLOWS.c.updated_at.type),
    )
    .returning(WORKFLOWS.c.id, WORKFLOWS.c.name, WORKFLOWS.c.spec, WORKFLOWS.c.created_at)
    .cte("created")
)
_FIRST_VERSION = (
    insert(WORKFLOW_VERSIONS)
    .from_select(
        ["workflow_id", "version", "name", "spec", "author_id", "created_at"],
        select(
            _CREATED.c.id, literal(1), _CREATED.c.name, _CREATED.c.spec, bindparam("author_id"), _CREATED.c.created_at
        ),
    )
    .cte("first_version")
)
_CREATE_AUDITED = (
    insert(AUDIT_LOG)
    .from_select(
        ["at", "actor", "action", "resource", "resource_id", "before", "after"],
        select(
            _CREATED.c.created_at,
            bindparam("author_id"),
            literal("create"),
            literal("workflow"),
            _CREATED.c.id,
            bindparam("before", type_=AUDIT_LOG.c.before.type),
            bindparam("after", type_=AUDIT_LOG.c.after.type),
        ),
    )
    .add_cte(_FIRST_VERSION)
)
#: The row of ``_CURRENT``: id, name, spec, owner_id, version.
CurrentRow = Row[Any, Any, Any, Any, Any]
_DELETE = delete_statement(WORKFLOWS).where(WORKFLOWS.c.id == bindparam("workflow_id"))

#: Roles that read every workflow: admins, and services (the conductor and runs execute anyone's).
_READ_ALL = ("admin", "service")


def _access(call: Call) -> tuple[CurrentRow, str]:
    """The workflow of the path and the caller's access to it (``all``, ``owner``, ``editor``, ``viewer``).

    A workflow the caller may not see is a 404, so its existence is not revealed.
    """
    workflow_id = call.params["workflow_id"]
    row = call.session.connection().execute(_CURRENT, {"workflow_id": workflow_id}).one_or_none()
    if row is not None:
        if call.identity.role in _READ_ALL:
            return row, "all"
        if row.owner_id == call.identity.id:
            return row, "owner"
        share = call.session.get(WorkflowShare, (workflow_id, call.identity.id))
        if share is not None:
            return row, share.role
    raise not_found(f"No workflow {workflow_id!r} you can see; list yours with GET /v1/workflows.")


def _current(row: CurrentRow) -> dict[str, Any]:
    """The workflow as the API shows it (``schemas.workflow`` of a Core row)."""
    return {"id": row.id, "name": row.name, "spec": row.spec, "owner": row.owner_id, "version": row.version}


def _may_write(call: Call, access: str) -> bool:
    role = call.identity.role
    return role == "admin" or (role == "editor" and access in ("owner", "editor"))


def _may_manage(call: Call, access: str) -> bool:
    return call.identity.role == "admin" or (call.identity.role == "editor" and access == "owner")


def create(call: Call) -> tuple[int, Any]:
    if call.identity.role not in ("admin", "editor"):
        raise forbidden(f"A {call.identity.role} may not create workflows; ask an admin for the editor role.")
    body = schemas.decode(call.body, schemas.NewWorkflow)
    owner = body.owner or call.identity.id
    if owner != call.identity.id:
        if not call.identity.is_admin:
            raise forbidden("Only an admin may create a workflow for another owner; omit owner.")
        if call.session.get(User, owner) is None:
            raise not_found(f"No user {owner!r} to own the workflow; create the user first.")
    record = {"name": body.name, "spec": body.spec, "owner": owner, "version": 1}
    call.rules.check("workflow", "create", record, None)
    workflow_id, at = new_id(), now()
    row = {"id": workflow_id, "owner_id": owner, "name": body.name, "spec": body.spec}
    connection = call.session.connection()
    after = {"id": workflow_id, **record}
    try:
        if connection.dialect.name == "postgresql":
            values = {**row, "at": at, "author_id": call.identity.id, "before": None, "after": after}
            connection.execute(_CREATE_AUDITED, values)
        else:  # SQLite has no data-modifying CTE, and its statements cost no round trip
            connection.execute(_INSERT, {**row, "version": 1, "created_at": at, "updated_at": at})
            _add_version(call, workflow_id, 1, body.name, body.spec)
            audit.record(call.session, call.identity, "create", "workflow", workflow_id, after=after)
    except IntegrityError:
        raise invalid(f"A workflow named {body.name!r} already exists for this owner; choose another name.") from None
    return 201, after


def _add_version(call: Call, workflow_id: str, version: int, name: str, spec: dict[str, Any]) -> None:
    call.session.connection().execute(
        _INSERT_VERSION,
        {
            "workflow_id": workflow_id,
            "version": version,
            "name": name,
            "spec": spec,
            "author_id": call.identity.id,
            "created_at": now(),
        },
    )


def listing(call: Call) -> tuple[int, Any]:
    limit = schemas.page_size(call.query, call.settings.default_page_size, call.settings.max_page_size)
    query = select(Workflow).order_by(Workflow.id).limit(limit + 1)
    if call.identity.role not in _READ_ALL:
        shared = select(WorkflowShare.workflow_id).where(WorkflowShare.user_id == call.identity.id)
        query = query.where(or_(Workflow.owner_id == call.identity.id, Workflow.id.in_(shared)))
    if cursor := call.query.get("cursor"):
        query = query.where(Workflow.id > cursor)
    rows = call.session.execute(query).scalars()
    return 200, schemas.page([schemas.workflow(row) for row in rows], limit, "id")


def show(call: Call) -> tuple[int, Any]:
    row, _ = _access(call)
    return 200, _current(row)


def change(call: Call) -> tuple[int, Any]:
    row, access = _access(call)
    if not _may_write(call, access):
        raise forbidden(f"You may read workflow {row.id!r} but not change it; ask its owner to share it as editor.")
    body = schemas.decode(call.body, schemas.WorkflowUpdate)
    stale = (
        f"Workflow {row.id!r} is at version {{}}, not {body.expected_version}; read it again and reapply your change."
    )
    if row.version != body.expected_version:
        raise conflict(stale.format(row.version))
    before = _current(row)
    name = body.name or row.name
    record = {"name": name, "spec": body.spec, "owner": row.owner_id, "version": row.version + 1}
    call.rules.check("workflow", "update", record, before)
    try:
        done = call.session.connection().execute(
            update(WORKFLOWS)
            .where(WORKFLOWS.c.id == row.id, WORKFLOWS.c.version == body.expected_version)
            .values(name=name, spec=body.spec, version=WORKFLOWS.c.version + 1, updated_at=now())
        )
    except IntegrityError:
        raise invalid(f"A workflow named {name!r} already exists for this owner; choose another name.") from None
    if done.rowcount != 1:
        raise conflict(stale.format("a newer one"))
    version = body.expected_version + 1
    _add_version(call, row.id, version, name, body.spec)
    after = {"id": row.id, "name": name, "spec": body.spec, "owner": row.owner_id, "version": version}
    audit.record(call.session, call.identity, "update", "workflow", row.id, before=before, after=after)
    return 200, after


def delete(call: Call) -> tuple[int, Any]:
    row, access = _access(call)
    if not _may_manage(call, access):
        raise forbidden(f"Only the owner of workflow {row.id!r} or an admin may delete it.")
    before = _current(row)
    call.rules.check("workflow", "delete", before, before)
    call.session.connection().execute(_DELETE, {"workflow_id": row.id})
    audit.record(call.session, call.identity, "delete", "workflow", row.id, before=before)
    return 204, None


def versions(call: Call) -> tuple[int, Any]:
    row, _ = _access(call)
    limit = schemas.page_size(call.query, call.settings.default_page_size, call.settings.max_page_size)
    query = (
        select(WorkflowVersion)
        .where(WorkflowVersion.workflow_id == row.id)
        .order_by(WorkflowVersion.version)
        .limit(limit + 1)
    )
    if cursor := call.query.get("cursor"):
        if not cursor.isdigit():
            raise invalid("cursor must be the next_cursor of the previous page.")
        query = query.where(WorkflowVersion.version > int(cursor))
    rows = call.session.execute(query).scalars()
    return 200, schemas.page([schemas.version(v) for v in rows], limit, "version")


def version(call: Call) -> tuple[int, Any]:
    row, _ = _access(call)
    number = call.params["version"]
    found = call.session.get(WorkflowVersion, (row.id, int(number))) if number.isdigit() else None
    if found is None:
        raise not_found(f"Workflow {row.id!r} has no version {number!r}; it is at version {row.version}.")
    return 200, schemas.version(found)


def _share_target(call: Call) -> tuple[CurrentRow, str]:
    row, access = _access(call)
    if not _may_manage(call, access):
        raise forbidden(f"Only the owner of workflow {row.id!r} or an admin may change who it is shared with.")
    user_id = call.params["user_id"]
    if user_id == row.owner_id:
        raise invalid("The owner already has every right to the workflow; share it with someone else.")
    return row, user_id


def share(call: Call) -> tuple[int, Any]:
    row, user_id = _share_target(call)
    body = schemas.decode(call.body, schemas.ShareBody)
    if call.session.get(User, user_id) is None:
        raise not_found(f"No user {user_id!r} to share with; list users with GET /v1/users.")
    existing = call.session.get(WorkflowShare, (row.id, user_id))
    before = None if existing is None else {"user_id": user_id, "role": existing.role}
    after = {"user_id": user_id, "role": body.role}
    call.rules.check("share", "update" if existing else "create", after, before)
    if existing is None:
        call.session.add(WorkflowShare(workflow_id=row.id, user_id=user_id, role=body.role))
    else:
        existing.role = body.role
    audit.record(call.session, call.identity, "share", "workflow", row.id, before=before, after=after)
    return 200, {"workflow_id": row.id, **after}


def unshare(call: Call) -> tuple[int, Any]:
    row, user_id = _share_target(call)
    existing = call.session.get(WorkflowShare, (row.id, user_id))
    if existing is None:
        raise not_found(f"Workflow {row.id!r} is not shared with {user_id!r}.")
    before = {"user_id": user_id, "role": existing.role}
    call.rules.check("share", "delete", before, before)
    call.session.delete(existing)
    audit.record(call.session, call.identity, "unshare", "workflow", row.id, before=before)
    return 204, None


ROUTES = [
    ("POST", "/v1/workflows", create),
    ("GET", "/v1/workflows", listing),
    ("GET", "/v1/workflows/{workflow_id}", show),
    ("PUT", "/v1/workflows/{workflow_id}", change),
    ("DELETE", "/v1/workflows/{workflow_id}", delete),
    ("GET", "/v1/workflows/{workflow_id}/versions", versions),
    ("GET", "/v1/workflows/{workflow_id}/versions/{version}", version),
    ("PUT", "/v1/workflows/{workflow_id}/shares/{user_id}", share),
    ("DELETE", "/v1/workflows/{workflow_id}/shares/{user_id}", unshare),
]
