"""Who calls the console: a session cookie from the one-time login link, or a data service bearer token.

The link printed at start is good once; exchanging it makes a session for the
local user (admin).  A bearer token is checked against the data service this
host uses (the embedded one's database, or a remote one's ``/v1/me``), and its
role decides what the caller may do.
"""

from __future__ import annotations

import getpass
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from typing import Final

from starlette.requests import Request

from ..data.service.auth import FailedChecks, Identity, bearer
from ..data.service.problems import Problem, forbidden, unauthenticated

__all__ = ["ACTIONS", "COOKIE", "Gate", "allowed_actions"]

#: The session cookie's name.
COOKIE: Final = "symphony_console"
#: Sessions idle longer than this are forgotten (seconds).
SESSION_IDLE: Final = 12 * 3600.0
#: At most this many sessions are kept (the least recently used goes first).
MAX_SESSIONS: Final = 1000

#: What each data service role may do in the console; reading is every role's.
ACTIONS: Final[dict[str, frozenset[str]]] = {
    "admin": frozenset(
        {"workflows.edit", "runs.start", "runs.cancel", "runs.resume", "runs.retry", "grants.grant", "grants.revoke"}
    ),
    "editor": frozenset({"workflows.edit", "runs.start", "runs.cancel", "runs.resume", "runs.retry"}),
    "service": frozenset({"runs.start", "runs.cancel", "runs.resume", "runs.retry"}),
    "viewer": frozenset(),
}

#: Checks a bearer token; returns its identity or raises the 401 problem.
TokenCheck = Callable[[str], Identity]


def allowed_actions(identity: Identity) -> list[str]:
    return sorted(ACTIONS.get(identity.role, frozenset()))


class Gate:
    """The console's one-time login code, its sessions, and the bearer-token check."""

    def __init__(self, check_token: TokenCheck, local_user: str | None = None) -> None:
        self._check_token = check_token
        self._code: str | None = secrets.token_urlsafe(24)
        self._local = Identity("local", local_user or getpass.getuser(), "admin")
        self._sessions: dict[str, tuple[Identity, float]] = {}
        self._lock = threading.Lock()
        self._failures = FailedChecks(limit=10, window=60.0, max_clients=10_000)

    @property
    def login_code(self) -> str:
        """The code of the printed link; empty once it has been used."""
        return self._code or ""

    def exchange(self, code: str) -> str:
        """A new session id for the local user, if ``code`` is the unused login code; a 401 problem otherwise."""
        with self._lock:
            if not self._matches(code):
                raise unauthenticated(
                    "This login link was already used or is wrong; restart `symphony ui` for a new one,"
                    " or send `Authorization: Bearer <token>`."
                )
            self._code = None
            session = secrets.token_urlsafe(32)
            self._sessions[session] = (self._local, time.monotonic())
            while len(self._sessions) > MAX_SESSIONS:
                del self._sessions[next(iter(self._sessions))]
            return session

    def _matches(self, code: str) -> bool:
        return self._code is not None and hmac.compare_digest(self._code.encode(), code.encode())

    def identify(self, request: Request) -> Identity:
        """The caller's identity: its session cookie, else its bearer token; a 401 problem when it has neither."""
        session = request.cookies.get(COOKIE)
        if session:
            found = self._session(session)
            if found is not None:
                return found
        header = request.headers.get("authorization")
        if not header:
            raise unauthenticated("Not logged in: open the link `symphony ui` printed, or send a bearer token.")
        client = request.client.host if request.client else "unknown"
        self._failures.check(client)
        try:
            return self._check_token(bearer(header))
        except Problem as problem:
            if problem.status == 401:
                self._failures.failed(client)
            raise

    def _session(self, session: str) -> Identity | None:
        with self._lock:
            entry = self._sessions.pop(session, None)
            if entry is None or time.monotonic() - entry[1] > SESSION_IDLE:
                return None
            self._sessions[session] = (entry[0], time.monotonic())  # most recently used last
            return entry[0]

    def require(self, request: Request, action: str | None = None) -> Identity:
        """The caller, who must be allowed ``action`` (None: reading); a 401 or 403 problem otherwise."""
        identity = self.identify(request)
        if action is not None and action not in ACTIONS.get(identity.role, frozenset()):
            raise forbidden(f"Role {identity.role!r} may not {action}; ask an admin for a role that may.")
        return identity
