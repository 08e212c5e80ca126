"""Bearer tokens and identities: tokens are random, shown once and stored as their SHA-256 only."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from .models import ApiToken, User
from .problems import Problem, rate_limited, unauthenticated

ROLES = ("admin", "editor", "viewer", "service")
TOKEN_PREFIX = "sym_"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling: a user or a service identity, with its role."""

    id: str
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def new_token() -> str:
    """A fresh secret: 32 random bytes, URL-safe, prefixed so leaked tokens are easy to scan for."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def bearer(header: str | None) -> str:
    """The token of an ``Authorization: Bearer`` header; 401 when there is none."""
    if not header:
        raise unauthenticated("No token: send `Authorization: Bearer <token>` (symphony data tokens create).")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthenticated("The Authorization header is not `Bearer <token>`; send the token that way.")
    return token.strip()


#: Built once, so its cache key is computed once: this runs on every request (the inline path runs it too).
IDENTIFY = (
    select(User.id, User.name, User.role, ApiToken.expires_at, ApiToken.revoked_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.digest == bindparam("digest"))
)


def identify(session: Session, token: str, at: datetime) -> Identity:
    """The identity owning ``token``; 401 when it is unknown, revoked or expired (one message: no oracle)."""
    return admitted(session.connection().execute(IDENTIFY, {"digest": digest(token)}).one_or_none(), at)


def admitted(row: Sequence[Any] | None, at: datetime) -> Identity:
    """The identity of an ``IDENTIFY`` row (id, name, role, expires_at, revoked_at); 401 unless its token is valid."""
    if row is None:
        raise _refused()
    user_id, name, role, expires_at, revoked_at = row
    if revoked_at is not None or (expires_at is not None and expires_at <= at):
        raise _refused()
    return Identity(user_id, name, role)


def _refused() -> Problem:
    return unauthenticated("The token is unknown, revoked or expired; create a new one.")


class FailedChecks:
    """Failed token checks per client in a fixed window; a client over the limit gets 429 until it ends.

    Only failures count, so a busy client with a good token is never throttled;
    at most ``max_clients`` are remembered (the least recent forgotten first).
    Used from the event loop and from synchronous callers' threads (``Service.serve_sync``), hence the lock.
    """

    def __init__(self, limit: int, window: float, max_clients: int) -> None:
        self._limit = limit
        self._window = window
        self._max_clients = max_clients
        self._clients: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        """Raise the 429 problem when ``client`` has used up its failures in the current window."""
        if client not in self._clients:  # nothing failed lately (every good request): one lookup, no lock
            return
        with self._lock:
            entry = self._clients.get(client)
            if entry is None:
                return
            start, count = entry
            elapsed = time.monotonic() - start
            if elapsed >= self._window:
                del self._clients[client]
                return
        if count >= self._limit:
            raise rate_limited(max(1, round(self._window - elapsed)))

    def failed(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            start, count = self._clients.pop(client, (now, 0))
            if now - start >= self._window:
                start, count = now, 0
            self._clients[client] = (start, count + 1)
            while len(self._clients) > self._max_clients:
                self._clients.popitem(last=False)
