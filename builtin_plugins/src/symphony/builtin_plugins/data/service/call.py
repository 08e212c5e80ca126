"""One request's work: authenticate, replay or run the handler, audit and commit in one transaction."""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import anyio
import msgspec
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from symphony.hookspecs import DataError, DataRule

from .auth import FailedChecks, Identity, bearer, identify
from .db import Database
from .inline import InlineWriter
from .models import IDEMPOTENCY_KEYS as _KEYS
from .models import now
from .problems import Problem, conflict, invalid, too_large
from .routing import Operation
from .rules import Rules
from .settings import ServiceSettings

log = logging.getLogger(__name__)

MAX_IDEMPOTENCY_KEY = 128


@dataclass(frozen=True, slots=True)
class Call:
    """What a handler sees: the caller, the open transaction, the request's parts and the service's rules."""

    identity: Identity
    session: Session
    params: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    rules: Rules
    settings: ServiceSettings
    #: What to do once the transaction has committed, off the event loop (``db.sync_log``: an fsync, say).
    after_commit: list[Callable[[], None]]


#: A handler returns the status and the JSON-able payload (None: no content).
Handler = Callable[[Call], tuple[int, Any]]
#: One caller's requests of one inline operation (``Service.inline_route``): path, parameters, body -> the status and
#: JSON body, or None when the request would wait for a lock.
InlineRoute = Callable[[str, dict[str, str], bytes], tuple[int, bytes | None] | None]


class Service:
    """The app's state: database, rules, limits and the failed-token-check counts."""

    def __init__(self, settings: ServiceSettings, rules: Iterable[DataRule]) -> None:
        self.settings = settings
        self.db = Database(settings.database)
        self.rules = Rules(rules)
        self.failures = FailedChecks(
            settings.max_failed_token_checks, settings.token_check_window, settings.max_tracked_clients
        )
        self._writes = itertools.count(1)  # next() is atomic under the GIL: the worker threads share it
        self._inline = InlineWriter(self.db)

    def close(self) -> None:
        """Close the database once the inline writer's background work is over (nothing runs after this returns)."""
        self._inline.close()
        self.db.dispose()

    def endpoint(self, operation: Operation) -> Callable[[Request], Awaitable[Response]]:
        """The Starlette endpoint of ``operation``: the request's parts handed to ``serve`` in a worker thread."""

        async def endpoint(request: Request) -> Response:
            try:
                status, content = await self.serve(
                    operation,
                    client=request.client.host if request.client else "unknown",
                    authorization=request.headers.get("authorization"),
                    path=request.url.path,
                    params=dict(request.path_params),
                    query=dict(request.query_params),
                    body=partial(self._body, request, self._limit(operation)),
                    key=request.headers.get("idempotency-key"),
                )
            except Problem as problem:
                return problem.response()
            if content is None:
                return Response(status_code=status)
            return Response(content, status_code=status, media_type="application/json")

        return endpoint

    async def serve(
        self,
        operation: Operation,
        *,
        client: str,
        authorization: str | None,
        path: str,
        params: dict[str, str],
        query: dict[str, str],
        body: bytes | Callable[[], Awaitable[bytes]],
        key: str | None,
        inline: bool = False,
    ) -> tuple[int, bytes | None]:
        """One request, whatever carried it: its status and JSON body, or the Problem refusing it (raised).

        ``body`` is the request's body, or how to read it (after the caller is identified as well as it can be
        without the database: a request without a token is refused before its body is read).

        ``inline`` runs the transaction on the calling thread (the event loop) when it can start without waiting
        for a lock (SQLite only), and in a worker thread otherwise; without it, always in a worker thread. Any
        failure that is not a refusal is logged here and raised as the generic 500 problem: no traceback leaves.
        """
        try:
            self.failures.check(client)
            token = bearer(authorization)
            if not operation.write:
                body, key = b"", None
            elif not isinstance(body, bytes):
                body = await body()
            self._check_limits(operation, body, key)
            sqlite_loop = inline and self.db.dialect == "sqlite"
            # An inline handler without an Idempotency-Key (whose claim and replay are the general path's) runs on
            # the raw connection (``inline.py``): the checkpoints' hot path, with nothing built for the general one.
            if sqlite_loop and operation.inline is not None and key is None:
                done = self._inline.run(operation.inline, token, params, body)
                if done is not None:
                    return done
                sqlite_loop = False  # it would wait for a lock: a worker thread waits for it
            after: list[Callable[[], None]] = []
            run = partial(
                self._run,
                operation,
                token=token,
                params=params,
                query=query,
                body=body,
                key=key,
                path=path,
                after=after,
            )
            done = self._on_loop(run) if sqlite_loop else None
            if done is None:
                done = await self._in_thread(run)
            for action in after:
                await anyio.to_thread.run_sync(action)
            return done
        except ClientDisconnect:  # the caller hung up while sending its body: nothing to answer, nothing failed
            raise Problem(400, "data", "The client disconnected before sending the whole request.") from None
        except Exception as error:
            raise self._refusal(error, operation, client, authorization, path) from None

    def inline_route(self, operation: Operation, client: str, authorization: str) -> InlineRoute:
        """``serve``'s inline branch for one caller of ``operation`` (a write with an inline handler, no
        Idempotency-Key), run on the calling thread (the event loop) with the same checks and problems; what stays the
        same between its requests (the token, the body limit) is settled here, once.

        For the direct transport's checkpoints, which need none of a request's framing. The route answers None when
        a request would wait for a lock: ``serve`` takes it then.
        """
        handler, limit, failures, run = operation.inline, self._limit(operation), self.failures, self._inline.run
        assert handler is not None and operation.write
        try:
            token = bearer(authorization)
        except Problem:
            token = ""  # refused on every request, as ``serve`` refuses it

        def route(path: str, params: dict[str, str], body: bytes) -> tuple[int, bytes | None] | None:
            try:
                failures.check(client)
                caller = token or bearer(authorization)
                if len(body) > limit:
                    raise too_large(limit)
                return run(handler, caller, params, body)
            except Exception as error:
                raise self._refusal(error, operation, client, authorization, path) from None

        return route

    def _refusal(
        self, error: Exception, operation: Operation, client: str, authorization: str | None, path: str
    ) -> Problem:
        """The problem ``error`` is answered with: a refusal as it is (a failed token counted against ``client``),
        anything else logged here and answered with the generic 500 (no traceback leaves)."""
        if isinstance(error, Problem):
            if error.status == 401 and authorization is not None:
                self.failures.failed(client)  # a token was tried and failed (no token: nothing was guessed)
            return error
        log.error("data service: %s %s failed", operation.method, path, exc_info=error)
        return Problem(500, "data", "The data service failed; the error is in its log.")

    def serve_sync(
        self,
        operation: Operation,
        *,
        client: str,
        authorization: str | None,
        path: str,
        params: dict[str, str],
        query: dict[str, str],
        body: bytes,
        key: str | None,
    ) -> tuple[int, bytes | None]:
        """``serve`` for synchronous callers, on the calling thread (any thread: each call has its own session).

        For ports that are synchronous by contract (permission records, called from the host's audit writer
        thread too); the same checks, transaction and problems as ``serve``, and a transaction waits for a lock.
        """
        try:
            self.failures.check(client)
            token = bearer(authorization)
            if not operation.write:
                body, key = b"", None
            self._check_limits(operation, body, key)
            after: list[Callable[[], None]] = []
            run = partial(
                self._run,
                operation,
                token=token,
                params=params,
                query=query,
                body=body,
                key=key,
                path=path,
                wait=True,
                after=after,
            )
            try:
                done = run()
            except DBAPIError as error:
                if not error.connection_invalidated:
                    raise
                done = run()  # as in serve: a connection the server had closed, found before the commit
            for action in after:
                action()
            return done
        except Exception as error:
            raise self._refusal(error, operation, client, authorization, path) from None

    async def _in_thread(self, run: Callable[..., tuple[int, bytes | None]]) -> tuple[int, bytes | None]:
        try:
            return await anyio.to_thread.run_sync(partial(run, wait=True))
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        # A pooled connection the server had closed (a restart, an idle timeout), found before the commit: nothing
        # was stored, and the pool has replaced its connections, so the request runs once more.
        return await anyio.to_thread.run_sync(partial(run, wait=True))

    def _on_loop(self, run: Callable[..., tuple[int, bytes | None]]) -> tuple[int, bytes | None] | None:
        """The request through SQLAlchemy on the event loop, not waiting (SQLite); None if it would wait for a lock."""
        try:
            return run(wait=False)
        except OperationalError as error:
            if not _busy(error):
                raise
        return None

    def _limit(self, operation: Operation) -> int:
        return self.settings.max_document_body_bytes if operation.documents else self.settings.max_body_bytes

    def _check_limits(self, operation: Operation, body: bytes, key: str | None) -> None:
        limit = self._limit(operation)
        if len(body) > limit:
            raise too_large(limit)
        if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
            raise invalid(f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters; send a shorter one.")

    async def _body(self, request: Request, limit: int) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise too_large(limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
        return b"".join(chunks)

    def _run(
        self,
        operation: Operation,
        *,
        token: str,
        params: dict[str, str],
        query: dict[str, str],
        body: bytes,
        key: str | None,
        path: str,
        wait: bool,
        after: list[Callable[[], None]],
    ) -> tuple[int, bytes | None]:
        """Authenticate, replay or run the handler, audit and commit; ``wait=False``: fail at once on a lock.

        ``after`` receives what the handler asks to be done once its transaction has committed.
        """
        after.clear()  # an attempt that failed before its commit asked for nothing
        write, shown_once = operation.write, operation.shown_once
        route = f"{operation.method} {path}"
        request_digest = hashlib.sha256(body).digest()
        with self.db.session(write=write, wait=wait) as session:
            at = now()
            identity = identify(session, token, at)
            if write and next(self._writes) % self.settings.idempotency_prune_every == 0:
                cutoff = at - timedelta(seconds=self.settings.idempotency_ttl)
                session.connection().execute(_PRUNE, {"cutoff": cutoff})
            claim = None
            if key is not None:
                claim = Claim(identity.id, key, route, request_digest)
                if (stored := claim.take(session, self.db.dialect)) is not None:
                    return _replay(stored, shown_once)
            call = Call(identity, session, params, query, body, self.rules, self.settings, after)
            try:
                status, payload = operation.handler(call)
            except DataError as error:
                raise Problem.from_error(error) from None
            content = None if payload is None else msgspec.json.encode(payload)
            if not write:
                return status, content
            if claim is not None:
                claim.keep(session, status, _without(payload, shown_once) or b"")
            try:
                session.commit()
            except IntegrityError:
                raise invalid("The write conflicts with a record stored meanwhile; read it again and retry.") from None
            except DBAPIError as error:
                if not error.connection_invalidated:
                    raise
                raise Problem(  # committed or not, nobody knows: the client retries with the same key (NetworkError)
                    503,
                    "data.network",
                    "The data service lost its database connection while committing; send the write again with the"
                    " same Idempotency-Key.",
                ) from None
            return status, content


#: SQLite's "database is busy" and "table is locked" (primary codes): an inline transaction would have to wait.
_SQLITE_BUSY = (5, 6)


def _busy(error: OperationalError) -> bool:
    return getattr(error.orig, "sqlite_errorcode", 0) & 0xFF in _SQLITE_BUSY


# Built once: a statement's cache key is then computed once, not on every request.
_THIS_KEY = (_KEYS.c.actor == bindparam("the_actor"), _KEYS.c.key == bindparam("the_key"))
_CLAIM = {
    "sqlite": sqlite_insert(_KEYS).on_conflict_do_nothing().returning(_KEYS.c.key),
    "postgresql": postgresql_insert(_KEYS).on_conflict_do_nothing().returning(_KEYS.c.key),
}
_PRUNE = delete(_KEYS).where(_KEYS.c.created_at < bindparam("cutoff"))
_KEEP = update(_KEYS).where(*_THIS_KEY)
_STORED = select(_KEYS.c.route, _KEYS.c.request_digest, _KEYS.c.status, _KEYS.c.body).where(*_THIS_KEY)


@dataclass(frozen=True, slots=True)
class Claim:
    """An Idempotency-Key as one caller used it for one request (its route and the digest of its body)."""

    actor: str
    key: str
    route: str
    request_digest: bytes

    def take(self, session: Session, dialect: str) -> tuple[int, bytes | None] | None:
        """Claim the key for this write, or return the response stored under it by an earlier one.

        The key's row is written first (one statement: insert unless present), so a concurrent request with
        the same key waits on it (PostgreSQL) or on the write lock (SQLite), inserts nothing, and replays the
        first one's response instead of writing again.
        """
        row = {"actor": self.actor, "key": self.key, "route": self.route, "request_digest": self.request_digest}
        if session.connection().execute(_CLAIM[dialect], {**row, "status": 0, "body": b""}).first() is not None:
            return None
        stored = self._stored(session)
        if stored is None:  # the first attempt rolled back after this statement saw its row: try again
            raise conflict("A write with this Idempotency-Key was under way and failed; send it again.")
        return stored

    def keep(self, session: Session, status: int, body: bytes) -> None:
        """Store the response for replay, in the write's transaction."""
        session.connection().execute(
            _KEEP, {"the_actor": self.actor, "the_key": self.key, "status": status, "body": body}
        )

    def _stored(self, session: Session) -> tuple[int, bytes | None] | None:
        """The response stored under the key; 422 when the key was used for another request."""
        row = session.connection().execute(_STORED, {"the_actor": self.actor, "the_key": self.key}).one_or_none()
        if row is None:
            return None
        if row.route != self.route or row.request_digest != self.request_digest:
            raise invalid("This Idempotency-Key was used for a different request; use a new key for a new request.")
        return row.status, row.body or None


def _without(payload: Any, shown_once: str | None) -> bytes | None:
    """The response as stored for replay: without the secret field, which must not outlive the response."""
    if payload is None:
        return None
    if shown_once is not None:
        payload = {name: value for name, value in payload.items() if name != shown_once}
    return msgspec.json.encode(payload)


def _replay(stored: tuple[int, bytes | None], shown_once: str | None) -> tuple[int, bytes | None]:
    if shown_once is None:
        return stored
    made = msgspec.json.decode(stored[1] or b"{}")
    raise conflict(
        f"An earlier attempt with this Idempotency-Key already succeeded (id {made.get('id')!r}), and its {shown_once}"
        f" was shown only then; revoke that one and create another."
    )
