"""Bearer tokens checked against the data service this host uses, embedded or remote."""

from __future__ import annotations

import ssl
import threading
import time
from typing import Final

import httpx

from ..data.service.auth import Identity, identify
from ..data.service.db import Database
from ..data.service.models import now
from ..data.service.problems import Problem, unauthenticated

__all__ = ["DatabaseTokens", "RemoteTokens"]

#: Seconds a remote service's answer about a token is trusted before it is asked again.
REMOTE_TTL: Final = 30.0


class DatabaseTokens:
    """Tokens of the embedded data service, read from its database (as the service itself reads them)."""

    def __init__(self, url: str) -> None:
        self._db = Database(url)

    def __call__(self, token: str) -> Identity:
        with self._db.session(write=False) as session:
            return identify(session, token, now())

    def close(self) -> None:
        self._db.dispose()


class RemoteTokens:
    """Tokens of a remote data service: its ``/v1/me`` says whose a token is (answers kept briefly)."""

    def __init__(self, url: str, *, verify: ssl.SSLContext | bool = True, timeout: float = 10.0) -> None:
        self._client = httpx.Client(base_url=url.rstrip("/"), verify=verify, timeout=timeout)
        self._known: dict[str, tuple[Identity, float]] = {}
        self._lock = threading.Lock()

    def __call__(self, token: str) -> Identity:
        with self._lock:
            entry = self._known.get(token)
        if entry is not None and time.monotonic() - entry[1] < REMOTE_TTL:
            return entry[0]
        try:
            answer = self._client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as error:
            raise Problem(
                502, "data.network", f"The data service could not be asked about the token: {error}."
            ) from None
        if answer.status_code == 401:
            raise unauthenticated("The token is unknown, revoked or expired; create a new one.")
        if answer.status_code != 200:
            raise Problem(502, "data.network", f"The data service answered {answer.status_code} about the token.")
        user = answer.json()
        identity = Identity(str(user["id"]), str(user["name"]), str(user["role"]))
        with self._lock:
            self._known[token] = (identity, time.monotonic())
            if len(self._known) > 10_000:
                self._known.pop(next(iter(self._known)))
        return identity

    def close(self) -> None:
        self._client.close()
