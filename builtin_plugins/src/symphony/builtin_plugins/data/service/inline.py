"""Hot writes on the event loop through one raw sqlite3 connection: the same checks, without SQLAlchemy's cost.

A checkpoint through the general path (``call.py``) spent most of its ~300 µs in SQLAlchemy (a session, a pool
checkout and its events, four Core executions, the commit's events) around ~25 µs of SQLite.  An operation that
declares an inline handler runs here instead when its request comes from the event loop (the direct transport) on
a SQLite file: one transaction begun IMMEDIATE; the caller identified by the general path's own statement, and the
handler's own access checks, on rows read again as soon as any other connection has committed (so a token revoked,
a role changed or a run deleted anywhere counts from the next request on; expiry is checked every time); then the
commit, in WAL with ``synchronous=NORMAL`` like every connection of the pool.  So a commit here is as durable as
one there, and the caller hears of it only once it is in the log: a crash of the process loses nothing acknowledged
(docs/data.md, "What a crash can lose").

This connection never checkpoints the log itself (copying it into the database file takes two fsyncs, ~10 ms here,
and SQLite does it in whichever commit finds the log long): every few hundred commits, a checkpoint runs in the
loop's executor, and the event loop goes on.  The statements are the Core ones compiled once, and sqlite3 keeps
them prepared; they run on one cursor kept with the connection and bind rows by position (a cursor per statement
and binding by name cost 3-5 µs of CPU per checkpoint, docs/performance.md).  A request that cannot start at once
(another writer holds the lock, another thread is using the connection) is left to the general path, and so is
every request on PostgreSQL or carrying an Idempotency-Key.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, cast

import msgspec
from sqlalchemy import ClauseElement
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql.compiler import SQLCompiler

from symphony.hookspecs import DataError

from .auth import IDENTIFY, Identity, admitted, digest
from .db import Database
from .models import ApiToken, now
from .problems import Problem, invalid

__all__ = ["InlineHandler", "InlineWriter", "compiled", "compiled_positional"]

log = logging.getLogger(__name__)

_DIALECT = sqlite.dialect(paramstyle="named")
_POSITIONAL = sqlite.dialect(paramstyle="qmark")
#: Rows an InlineWriter keeps at most (tokens and runs in use: a handful, unless something is scanning).
_MAX_KNOWN = 1024
#: Commits of the inline connection between two checkpoints of the log (a one-node checkpoint adds a page or two):
#: about SQLite's own automatic checkpoint, every 1,000 pages.
_CHECKPOINT_EVERY = 400
#: SQLite's "database is busy" and "table is locked" (primary codes): the transaction would have to wait.
_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def compiled(statement: ClauseElement) -> str:
    """``statement`` as SQLite SQL with ``:name`` parameters (bound from dicts, as the Core statement is)."""
    return str(statement.compile(dialect=_DIALECT))


def compiled_positional(statement: ClauseElement, order: tuple[str, ...]) -> str:
    """``statement`` as SQLite SQL with ``?`` parameters, bound from tuples in ``order``.

    Raises RuntimeError at import when the statement's parameters come in another order (a changed table).
    """
    found = cast(SQLCompiler, statement.compile(dialect=_POSITIONAL))
    if tuple(found.positiontup or ()) != order:
        raise RuntimeError(f"{found} binds {found.positiontup}, not {order}")
    return str(found)


_IDENTIFY = compiled(IDENTIFY)
#: The token table's timestamps as the general path reads them (UTC datetimes from SQLite's text).
_EXPIRES_AT = ApiToken.__table__.c.expires_at.type
_TIMESTAMP = cast(Callable[[Any], Any], _EXPIRES_AT.dialect_impl(_DIALECT).result_processor(_DIALECT, None))


#: An inline handler: given the caller, the connection's cursor in its open transaction, the request's parameters and
#: body, and the rows read by earlier requests (kept while no other connection, of any process, has committed: for
#: reads of what inline handlers never write themselves, a run's owner, keyed by (what, which)), it returns the status
#: and the JSON-able payload (None: no content), as a general one does. Its parts come as arguments, not in an object:
#: on a chain of checkpoints, each call and object made per save costs about a microsecond (docs/performance.md).
InlineHandler = Callable[[Identity, sqlite3.Cursor, dict[str, str], bytes, dict[tuple[str, Any], Any]], tuple[int, Any]]


class InlineWriter:
    """Runs inline handlers on the database's raw SQLite connection, one request at a time."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._known: dict[tuple[str, Any], Any] = {}
        self._version: int | None = None  # the connection's data_version when ``_known`` was last valid
        self._cursor: sqlite3.Cursor | None = None  # of the connection in use: one per statement costs ~0.3 µs
        self._commits = 0
        self._checkpointing = threading.Event()  # set from scheduling a checkpoint of the log until it is over
        self._checkpoint_lock = threading.Lock()  # held by the thread checkpointing: ``close`` waits on it
        self._closed = False

    def run(
        self, handler: InlineHandler, token: str, params: dict[str, str], body: bytes
    ) -> tuple[int, bytes | None] | None:
        """The handler's status and JSON body, committed; None when it cannot run here without waiting.

        Raises the Problem refusing the request (nothing written), as the general path does.
        """
        if not self._lock.acquire(False):  # another thread's event loop is using the connection
            return None
        try:
            connection = self._db.raw_sqlite()
            if connection is None:
                return None
            cursor = self._cursor
            if cursor is None or cursor.connection is not connection:
                cursor = self._cursor = connection.cursor()
                self._version = None  # a version is the connection's own
            try:
                cursor.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode & 0xFF in _BUSY:
                    return None
                raise
            try:
                # Rows read before are forgotten once another connection (of any process, this one's pool included)
                # has committed: data_version changes with every commit but this connection's own. So a token
                # revoked, a role changed or a run deleted anywhere counts from the next request on.
                known = self._known
                version = cursor.execute("pragma data_version").fetchone()[0]
                if version != self._version or len(known) >= _MAX_KNOWN:
                    known.clear()
                    self._version = version
                # A known caller whose token never expires needs no check (``_identify`` checks every other).
                found = known.get(("caller", token))
                identity = found[0] if found is not None and found[1][3] is None else _identify(cursor, token, known)
                status, payload = handler(identity, cursor, params, body, known)
                cursor.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:  # SQLite may have rolled back already (a full disk, say)
                    connection.execute("ROLLBACK")
                raise
            self._commits += 1
            if not self._commits % _CHECKPOINT_EVERY:
                self._checkpoint_soon()
        except DataError as error:
            raise Problem.from_error(error) from None
        except sqlite3.IntegrityError:
            raise invalid("The write conflicts with a record stored meanwhile; read it again and retry.") from None
        finally:
            self._lock.release()
        return status, None if payload is None else msgspec.json.encode(payload)

    def _checkpoint_soon(self) -> None:
        """Checkpoint the log in the loop's executor, never on the loop (every ``_CHECKPOINT_EVERY`` commits)."""
        if self._checkpointing.is_set():
            return
        self._checkpointing.set()
        try:
            asyncio.get_running_loop().run_in_executor(None, self._checkpoint)
        except RuntimeError:  # no loop, or one shutting down: the pool's next long commit checkpoints the log
            self._checkpointing.clear()

    def _checkpoint(self) -> None:
        with self._checkpoint_lock:
            try:
                if not self._closed:
                    self._db.checkpoint_log()
            except sqlite3.Error:  # the next one will try again; a crash mid-checkpoint is harmless to SQLite
                log.warning("data service: checkpointing the SQLite log failed", exc_info=True)
            finally:
                self._checkpointing.clear()

    def close(self) -> None:
        """Wait for a checkpoint in progress and cancel any still queued: none opens the database after this returns.

        Its owner closes the database next; a caller may then remove the files (a temp dir) at once.
        """
        with self._checkpoint_lock:
            self._closed = True


def _identify(cursor: sqlite3.Cursor, token: str, known: dict[tuple[str, Any], Any]) -> Identity:
    """The caller, as ``auth.identify`` finds it; expiry is checked on every request, known caller or not.

    A known caller is kept with its identity, by token: no digest, clock or identity per request unless its
    token expires (~2 µs of a checkpoint's).
    """
    key = ("caller", token)
    found = known.get(key)
    if found is None:
        row = cursor.execute(_IDENTIFY, {"digest": digest(token)}).fetchone()
        if row is not None:
            row = (*row[:3], _TIMESTAMP(row[3]), row[4])
        caller = admitted(row, now())  # a refused caller is not kept
        known[key] = (caller, row)
        return caller
    identity: Identity = found[0]
    row = found[1]
    if row[3] is not None:  # an expiry: checked against the clock every time
        admitted(row, now())
    return identity
