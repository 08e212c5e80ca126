"""Runs, their node checkpoints and the node cache, as the DAG tracker records them.

A run belongs to the identity that created it.  Admins and service identities read and change
every run; editors create runs and read and change their own; viewers read their own only.  A run
the caller may not read is a 404, so its existence is not revealed.  The node cache is read by
whoever may create runs and deleted by admins and service identities.

Checkpoints (``PUT .../nodes``) are the hot path: the tracker waits for them before starting a
node's dependants.  They are one access check and one upsert (plus one insert for cache entries),
Core statements on the session's connection (no ORM unit of work), or the same statements on the
raw SQLite connection of the event loop's writes (``save_nodes_inline``, ``inline.py``); they are not
audited one by one (docs/data.md, "The audit log").
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any, TypeVar

import msgspec
from sqlalchemy import and_, bindparam, delete, func, insert, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from .. import audit, schemas
from .. import schemas_runs as wire
from ..auth import Identity
from ..call import Call
from ..db import sync_log
from ..inline import compiled, compiled_positional
from ..models import NODE_CACHE, RUN_NODES, RUNS
from ..problems import forbidden, invalid, not_found

#: Roles that read and change every run: admins, and services (the conductor and the runs themselves).
_ALL_RUNS = ("admin", "service")
#: The states a run ends in: the update that records one is forced to disk before it is answered.
_FINISHED = ("succeeded", "failed", "cancelled")
#: Roles that may create runs, and so read the node cache.
_CREATORS = ("admin", "editor", "service")
#: Values one IN list holds at most (SQLite's default limit on a statement's parameters is 32766; 999 before 3.32).
_CHUNK = 500
#: Node-cache entries one listing page may hold (they carry no outputs, so a page can be larger than others').
_DEFAULT_CACHE_PAGE, _MAX_CACHE_PAGE = 500, 1000
#: The shortest run id prefix ``GET /v1/runs/{run_id}`` resolves.
_MIN_PREFIX = 4

T = TypeVar("T")

_NODE_UPDATE = [name for name in wire.NODE_FIELDS if name != "node_id"]


def _upserts() -> dict[str, Any]:
    built = {}
    for dialect, make in (("sqlite", sqlite_insert), ("postgresql", postgresql_insert)):
        nodes = make(RUN_NODES)
        built[dialect] = (
            nodes.on_conflict_do_update(
                index_elements=["run_id", "node_id"], set_={name: nodes.excluded[name] for name in _NODE_UPDATE}
            ),
            make(NODE_CACHE).on_conflict_do_nothing(index_elements=["key"]),
        )
    return built


# Built once: a statement's cache key is then computed once, not on every checkpoint.
_UPSERT = _upserts()
_ACCESS = select(RUNS.c.owner_id, RUNS.c.state, RUNS.c.cancel_requested).where(RUNS.c.id == bindparam("run_id"))
#: The columns of a checkpoint's row and of a cache entry's, in the order their tuples hold them.
_NODE_ROW = ("run_id", *wire.NODE_FIELDS)
_CACHE_ROW = ("key", "uses", "outputs", "outputs_ref", "run_id", "node_id", "created_at")
_UPSERT_SQL = (
    compiled_positional(_UPSERT["sqlite"][0], _NODE_ROW),
    compiled_positional(_UPSERT["sqlite"][1], _CACHE_ROW),
)
_ACCESS_SQL = compiled(_ACCESS)
_INSERT_RUN = insert(RUNS)
_RUN_COLUMNS = [RUNS.c[name] for name in (*wire.SUMMARY_FIELDS, *wire.DOCUMENT_FIELDS, "owner_id")]
_PROCESS_COLUMNS = [RUNS.c.pid, RUNS.c.hostname, RUNS.c.process_started]
_NODE_COLUMNS = [RUN_NODES.c[name] for name in wire.NODE_FIELDS]
#: A checkpoint's body, decoded by one prepared decoder. ``NodesBody`` holds no free (``Any``) value, so it nests no
#: deeper than its schema and needs none of the depth walk ``schemas.decode`` gives every other body.
_NODES = msgspec.json.Decoder(wire.NodesBody)


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _reads_all(call: Call) -> bool:
    return call.identity.role in _ALL_RUNS


def _access(call: Call, run_id: str, *, change: bool) -> wire.AnyRow:
    """The run's owner, state and cancel flag, once the caller may read (and, with ``change``, change) it."""
    row = call.session.connection().execute(_ACCESS, {"run_id": run_id}).one_or_none()
    _admit(call.identity, run_id, None if row is None else row.owner_id, change=change)
    assert row is not None  # _admit refused a missing run
    return row


def _admit(identity: Identity, run_id: str, owner_id: str | None, *, change: bool) -> None:
    """Refuse ``identity`` a run owned by ``owner_id`` (None: no such run) it may not read, or change."""
    if owner_id is None or not (identity.role in _ALL_RUNS or owner_id == identity.id):
        raise not_found(f"No run {run_id!r} you can see; list yours with GET /v1/runs.")
    if change and not (identity.role in _ALL_RUNS or identity.role == "editor"):
        raise forbidden(f"A {identity.role} may read run {run_id!r} but not change it; ask for the editor role.")


def _dialect(call: Call) -> str:
    return call.session.connection().dialect.name


def _cursor(raw: str | None) -> tuple[float, str] | None:
    """A listing cursor: ``<time>/<id>`` of the last item of the previous page."""
    if raw is None:
        return None
    at, _, last = raw.partition("/")
    try:
        return float(at), last
    except ValueError:
        raise invalid("cursor must be the next_cursor of the previous page.") from None


def _page(items: list[dict[str, Any]], limit: int, time_of: str, key_of: str) -> dict[str, Any]:
    more = len(items) > limit
    last = items[limit - 1] if more else None
    return {"items": items[:limit], "next_cursor": None if last is None else f"{last[time_of]!r}/{last[key_of]}"}


# -- runs -------------------------------------------------------------------------------------


def create(call: Call) -> tuple[int, Any]:
    if call.identity.role not in _CREATORS:
        raise forbidden(f"A {call.identity.role} may not start runs; ask an admin for the editor role.")
    body = schemas.decode(call.body, wire.NewRunBody)
    at = time.time()
    row: dict[str, Any] = {
        "id": body.id,
        "owner_id": call.identity.id,
        "workflow_id": body.workflow_id,
        "workflow_name": body.workflow_name,
        "document": body.document,
        "inputs": body.inputs,
        "state": "running",
        "nodes_total": body.nodes_total,
        "created_at": at,
        "updated_at": at,
        "finished_at": None,
        "cancel_requested": False,
        "error": None,
        "failure_category": None,
        "parent_id": body.parent_id,
        "outputs": None,
        "metrics": None,
        "waiting": None,
        "prewarmed": None,
        **_process_values(body.process),
    }
    described = {"id": body.id, "workflow_id": body.workflow_id, "state": "running", "parent_id": body.parent_id}
    call.rules.check("run", "create", described, None)
    try:
        call.session.connection().execute(_INSERT_RUN, row)
    except IntegrityError:
        raise invalid(f"A run with id {body.id!r} exists already; start the run under a new id.") from None
    audit.record(call.session, call.identity, "create", "run", body.id, after={**described, "owner": call.identity.id})
    out = {name: row[name] for name in (*wire.SUMMARY_FIELDS, *wire.DOCUMENT_FIELDS)}
    out.update(owner=call.identity.id, process=None if body.process is None else msgspec.to_builtins(body.process))
    return 201, out


def _process_values(process: wire.Process | None) -> dict[str, Any]:
    if process is None:
        return {"pid": None, "hostname": None, "process_started": None}
    return {"pid": process.pid, "hostname": process.hostname, "process_started": process.started}


def _size() -> Any:
    """Bytes a run holds: its documents and its nodes' outputs (computed by the database, not sent)."""
    nodes = (
        select(func.coalesce(func.sum(func.length(RUN_NODES.c.outputs)), 0))
        .where(RUN_NODES.c.run_id == RUNS.c.id)
        .scalar_subquery()
    )
    documents = [func.coalesce(func.length(RUNS.c[name]), 0) for name in ("document", "inputs", "outputs")]
    return (documents[0] + documents[1] + documents[2] + nodes).label("size")


def listing(call: Call) -> tuple[int, Any]:
    limit = schemas.page_size(call.query, call.settings.default_page_size, call.settings.max_page_size)
    columns = [RUNS.c[name] for name in wire.SUMMARY_FIELDS]
    query = select(*columns, RUNS.c.owner_id, *_PROCESS_COLUMNS, _size()).limit(limit + 1)
    if not _reads_all(call):
        query = query.where(RUNS.c.owner_id == call.identity.id)
    if (state := call.query.get("state")) is not None:
        query = query.where(RUNS.c.state == state)
    cursor = _cursor(call.query.get("cursor"))
    if (raw := call.query.get("finished_before")) is not None:
        try:
            before = float(raw)
        except ValueError:
            raise invalid(f"finished_before must be epoch seconds, not {raw[:30]!r}.") from None
        # Retention: the oldest finished runs first.
        query = query.where(RUNS.c.finished_at < before).order_by(RUNS.c.finished_at, RUNS.c.id)
        if cursor is not None:
            at, last = cursor
            query = query.where(or_(RUNS.c.finished_at > at, and_(RUNS.c.finished_at == at, RUNS.c.id > last)))
        time_of = "finished_at"
    else:
        query = query.order_by(RUNS.c.created_at.desc(), RUNS.c.id.desc())
        if cursor is not None:
            at, last = cursor
            query = query.where(or_(RUNS.c.created_at < at, and_(RUNS.c.created_at == at, RUNS.c.id < last)))
        time_of = "created_at"
    items = [wire.summary(row) for row in call.session.connection().execute(query)]
    return 200, _page(items, limit, time_of, "id")


def show(call: Call) -> tuple[int, Any]:
    """The run with this id or, failing that, the only one (the caller may see) whose id starts with it."""
    run_id = call.params["run_id"]
    query = select(*_RUN_COLUMNS, *_PROCESS_COLUMNS)
    if not _reads_all(call):
        query = query.where(RUNS.c.owner_id == call.identity.id)
    row = call.session.connection().execute(query.where(RUNS.c.id == run_id)).one_or_none()
    if row is None and len(run_id) >= _MIN_PREFIX:
        matches = (
            call.session.connection().execute(query.where(RUNS.c.id.startswith(run_id, autoescape=True)).limit(2)).all()
        )
        if len(matches) > 1:
            raise invalid(f"Run id prefix {run_id!r} is ambiguous; give more characters.")
        row = matches[0] if matches else None
    if row is None:
        raise not_found(f"No run {run_id!r} you can see; list yours with GET /v1/runs.")
    return 200, wire.record(row)


def change(call: Call) -> tuple[int, Any]:
    run_id = call.params["run_id"]
    before = _access(call, run_id, change=True)
    body = schemas.decode(call.body, wire.RunUpdateBody)
    values = {
        name: value
        for name in wire.RunUpdateBody.__struct_fields__
        if name not in ("process", "forget") and (value := getattr(body, name)) is not msgspec.UNSET
    }
    if body.process is not msgspec.UNSET:
        values.update(_process_values(body.process))
    watched: dict[str, Any] = {name: values[name] for name in ("state", "cancel_requested") if name in values}
    was = {"state": before.state, "cancel_requested": before.cancel_requested}
    call.rules.check("run", "update", {"id": run_id, **was, **watched}, {"id": run_id, **was})
    for chunk in _chunks(body.forget):
        call.session.connection().execute(
            delete(RUN_NODES).where(RUN_NODES.c.run_id == run_id, RUN_NODES.c.node_id.in_(chunk))
        )
    call.session.connection().execute(update(RUNS).where(RUNS.c.id == run_id).values(**values, updated_at=time.time()))
    if values.get("state") in _FINISHED:  # the run's result, and every checkpoint before it, outlive a power cut
        call.after_commit.append(partial(sync_log, call.session.connection().engine))
    if any(was[name] != value for name, value in watched.items()):
        audit.record(
            call.session, call.identity, "update", "run", run_id, before={k: was[k] for k in watched}, after=watched
        )
    return 204, None


def delete_runs(call: Call) -> tuple[int, Any]:
    """Delete those of the runs named that the caller may change and that finished before the time given."""
    if call.identity.role not in _CREATORS:
        raise forbidden(f"A {call.identity.role} may not delete runs; ask an admin.")
    body = schemas.decode(call.body, wire.DeleteRunsBody)
    deleted: list[str] = []
    for chunk in _chunks(sorted(set(body.run_ids))):
        query = select(RUNS.c.id, RUNS.c.workflow_id, RUNS.c.state, RUNS.c.finished_at, RUNS.c.owner_id).where(
            RUNS.c.id.in_(chunk), RUNS.c.finished_at < body.finished_before
        )
        if not _reads_all(call):
            query = query.where(RUNS.c.owner_id == call.identity.id)
        rows = call.session.connection().execute(query).all()
        audited = []
        for row in rows:
            before = {
                "id": row.id,
                "workflow_id": row.workflow_id,
                "state": row.state,
                "finished_at": row.finished_at,
                "owner": row.owner_id,
            }
            call.rules.check("run", "delete", before, before)
            audited.append((row.id, before, None))
        audit.record_many(call.session, call.identity, "delete", "run", audited)  # one row per run, one statement
        ids = [row.id for row in rows]
        if ids:
            call.session.connection().execute(delete(RUNS).where(RUNS.c.id.in_(ids)))
        deleted += ids
    return 200, {"deleted": deleted}


# -- node checkpoints -------------------------------------------------------------------------


def save_nodes(call: Call) -> tuple[int, Any]:
    """Upsert the checkpoints (and the cache entries of fresh successes) in the request's one transaction."""
    run_id = call.params["run_id"]
    _access(call, run_id, change=True)
    nodes, cache = _checkpoints(run_id, _nodes_body(call.body))
    if nodes:
        upsert_nodes, put_cache = _UPSERT[_dialect(call)]
        call.session.connection().execute(upsert_nodes, [dict(zip(_NODE_ROW, row, strict=True)) for row in nodes])
        if cache:
            call.session.connection().execute(put_cache, [dict(zip(_CACHE_ROW, row, strict=True)) for row in cache])
    return 204, None


def save_nodes_inline(
    identity: Identity, cursor: sqlite3.Cursor, params: dict[str, str], body: bytes, known: dict[tuple[str, Any], Any]
) -> tuple[int, Any]:
    """``save_nodes`` on the raw SQLite connection of the event loop's writes: the same checks and rows."""
    run_id = params["run_id"]
    owner = known.get(("run owner", run_id))
    if owner is None:
        found = cursor.execute(_ACCESS_SQL, {"run_id": run_id}).fetchone()
        owner = None if found is None else known.setdefault(("run owner", run_id), found[0])
    _admit(identity, run_id, owner, change=True)
    nodes, cache = _checkpoints(run_id, _nodes_body(body))
    if nodes:
        cursor.executemany(_UPSERT_SQL[0], nodes)
        if cache:
            cursor.executemany(_UPSERT_SQL[1], cache)
    return 204, None


def _nodes_body(body: bytes) -> wire.NodesBody:
    """The checkpoints sent; a 422 problem saying which field is wrong otherwise (as ``schemas.decode``)."""
    try:
        return _NODES.decode(body)
    except msgspec.ValidationError as error:
        raise invalid(f"The request body is invalid: {error}; fix that field.") from None
    except msgspec.DecodeError as error:
        raise invalid(f"The request body is not JSON: {error}.") from None


def _checkpoints(run_id: str, body: wire.NodesBody) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The rows of a save, as tuples in ``_NODE_ROW`` and ``_CACHE_ROW`` order (bound by position inline):
    run_nodes' (the last checkpoint of a node named twice wins) and node_cache's."""
    at = time.time()
    nodes: dict[str, tuple[Any, ...]] = {}
    cache: dict[str, tuple[Any, ...]] = {}  # by key: the first entry wins, as with one stored before
    for node in body.nodes:
        nodes[node.node_id] = (
            run_id,
            node.node_id,
            node.state,
            node.attempts,
            node.outputs,
            node.outputs_ref,
            node.error,
            node.detail,
            node.cached,
            node.queue_wait,
            node.run_time,
            at,
        )
        if node.cache_key is not None and node.state == "succeeded" and not node.cached:
            cache.setdefault(
                node.cache_key,
                (node.cache_key, node.uses, node.outputs, node.outputs_ref, run_id, node.node_id, at),
            )
    return list(nodes.values()), list(cache.values())


def copy_nodes(call: Call) -> tuple[int, Any]:
    """Record the source run's checkpoints of ``node_ids`` in the target run (a retry restores them); a node the
    target has already is kept."""
    target = call.params["run_id"]
    _access(call, target, change=True)
    body = schemas.decode(call.body, wire.CopyBody)
    _access(call, body.source, change=False)
    make = sqlite_insert if _dialect(call) == "sqlite" else postgresql_insert
    columns = list(wire.NODE_FIELDS)
    for chunk in _chunks(sorted(set(body.node_ids))):
        source = select(literal(target), *[RUN_NODES.c[name] for name in columns]).where(
            RUN_NODES.c.run_id == body.source, RUN_NODES.c.node_id.in_(chunk)
        )
        call.session.connection().execute(
            make(RUN_NODES).from_select(["run_id", *columns], source).on_conflict_do_nothing()
        )
    return 204, None


def nodes(call: Call) -> tuple[int, Any]:
    run_id = call.params["run_id"]
    _access(call, run_id, change=False)
    rows = call.session.connection().execute(
        select(*_NODE_COLUMNS).where(RUN_NODES.c.run_id == run_id).order_by(RUN_NODES.c.node_id)
    )
    return 200, [wire.node(row) for row in rows]


# -- the node cache ---------------------------------------------------------------------------


def _may_read_cache(call: Call) -> None:
    if call.identity.role not in _CREATORS:
        raise forbidden(f"A {call.identity.role} may not read the node cache; it serves those who start runs.")


def cached(call: Call) -> tuple[int, Any]:
    _may_read_cache(call)
    key = call.params["key"]
    columns = [NODE_CACHE.c[name] for name in (*wire.CACHE_FIELDS, "outputs")]
    row = call.session.connection().execute(select(*columns).where(NODE_CACHE.c.key == key)).one_or_none()
    if row is None:
        raise not_found(f"No node cache entry {key!r}.")
    return 200, wire.cache_entry(row, outputs=True)


def cache_listing(call: Call) -> tuple[int, Any]:
    _may_read_cache(call)
    limit = schemas.page_size(call.query, _DEFAULT_CACHE_PAGE, _MAX_CACHE_PAGE)
    size = func.coalesce(func.length(NODE_CACHE.c.outputs), 0).label("size")
    query = (
        select(*[NODE_CACHE.c[name] for name in wire.CACHE_FIELDS], RUNS.c.workflow_id, size)
        .select_from(NODE_CACHE.outerjoin(RUNS, RUNS.c.id == NODE_CACHE.c.run_id))
        .order_by(NODE_CACHE.c.created_at.desc(), NODE_CACHE.c.key.desc())
        .limit(limit + 1)
    )
    if (cursor := _cursor(call.query.get("cursor"))) is not None:
        at, last = cursor
        query = query.where(
            or_(NODE_CACHE.c.created_at < at, and_(NODE_CACHE.c.created_at == at, NODE_CACHE.c.key < last))
        )
    items = [wire.cache_entry(row, outputs=False) for row in call.session.connection().execute(query)]
    return 200, _page(items, limit, "created_at", "key")


def delete_cache(call: Call) -> tuple[int, Any]:
    if call.identity.role not in _ALL_RUNS:
        raise forbidden("Only admins and service identities may delete node cache entries.")
    body = schemas.decode(call.body, wire.DeleteCacheBody)
    deleted = 0
    for chunk in _chunks(sorted(set(body.keys))):
        done = call.session.connection().execute(delete(NODE_CACHE).where(NODE_CACHE.c.key.in_(chunk)))
        deleted += done.rowcount
    if deleted:
        audit.record(call.session, call.identity, "delete", "node_cache", "*", after={"deleted": deleted})
    return 204, None


ROUTES = [
    ("POST", "/v1/runs", create),
    ("GET", "/v1/runs", listing),
    ("POST", "/v1/runs/delete", delete_runs),
    ("GET", "/v1/runs/{run_id}", show),
    ("PATCH", "/v1/runs/{run_id}", change),
    ("PUT", "/v1/runs/{run_id}/nodes", save_nodes),
    ("GET", "/v1/runs/{run_id}/nodes", nodes),
    ("POST", "/v1/runs/{run_id}/nodes/copy", copy_nodes),
    ("GET", "/v1/node-cache", cache_listing),
    ("POST", "/v1/node-cache/delete", delete_cache),
    ("GET", "/v1/node-cache/{key}", cached),
]
