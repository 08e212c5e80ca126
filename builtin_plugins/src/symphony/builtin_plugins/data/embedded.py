"""The embedded data service: the service in this process on SQLite, called directly (no HTTP, no port).

First use migrates ``<data_dir>/data/service.db`` and makes an admin identity for
the local OS user, whose token is kept in ``<data_dir>/data/token`` (0600,
written atomically, never logged).  A token that no longer matches the database
(the database was replaced, the token revoked) is replaced the same way.  A
file lock makes two processes starting at once agree on one token.
"""

from __future__ import annotations

import fcntl
import getpass
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from symphony.hookspecs import ConfigurationError, DataRule, new_id

from .service import audit, schemas
from .service.auth import digest, new_token
from .service.bootstrap import SYSTEM, create_identity
from .service.db import Database
from .service.models import ApiToken, User, now

if TYPE_CHECKING:
    from symphony.hookspecs.ports import PreValidationPort

    from .client import DataClient
    from .service.call import Service

__all__ = ["EmbeddedService", "open_embedded"]

DATABASE_FILE = "service.db"
TOKEN_FILE = "token"
TOKEN_NAME = "embedded"


class EmbeddedService:
    """The migrated database's URL, the local admin's token and the app serving them (``app.state.service``)."""

    def __init__(self, url: str, token: str, app: Any) -> None:
        self.url = url
        self.token = token
        self.app = app

    def __repr__(self) -> str:  # the token must never reach a log through a repr
        return f"EmbeddedService(url={self.url!r})"

    @property
    def service(self) -> Service:
        service: Service = self.app.state.service
        return service

    def client(
        self,
        token: str | None = None,
        *,
        transport: str = "direct",
        pre_validation: PreValidationPort | None = None,
    ) -> DataClient:
        """A client of this service as ``token`` (default: the local admin's), ``direct`` or through ``asgi``."""
        from .client import DataClient

        token = self.token if token is None else token
        if transport == "asgi":
            return DataClient.in_process(self.app, token, pre_validation=pre_validation)
        return DataClient.direct(self.service, token, pre_validation=pre_validation)

    def close(self) -> None:
        """Close the service and its database (httpx's ASGI transport never runs the app's lifespan, which would)."""
        self.service.close()


def open_embedded(directory: Path, database: str = "", rules: Iterable[DataRule] | None = None) -> EmbeddedService:
    """The embedded service under ``directory`` (made 0700 if missing): migrated, with the local admin's token."""
    from .import_permissions import import_legacy_permissions
    from .import_runs import import_legacy_runs
    from .service.app import create_app
    from .service.migrate import migrate
    from .service.settings import ServiceSettings

    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    url = database or f"sqlite:///{directory / DATABASE_FILE}"
    with _locked(directory / ".lock"):
        migrate(url)
        token = _admin_token(url, directory / TOKEN_FILE)
        import_legacy_runs(url, directory.parent, token=token)  # <data_dir>/runs.db, kept by the tracker before
        import_legacy_permissions(url, directory.parent, token=token)  # <data_dir>/permissions.db, the host's before
    return EmbeddedService(url, token, create_app(ServiceSettings(database=url), rules))


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _admin_token(url: str, path: Path) -> str:
    """The token in ``path`` while the database accepts it; otherwise a new one for the local admin, stored there."""
    try:
        token = path.read_text().strip()
    except FileNotFoundError:
        token = ""
    if token and _accepted(url, token):
        return token
    user = getpass.getuser()
    email = f"{user}@localhost"
    fresh = _new_token_for(url, email)
    if fresh is None:
        _user_id, fresh = create_identity(url, name=user, email=email, role="admin", token_name=TOKEN_NAME)
    _write_secret(path, fresh)
    return fresh


def _accepted(url: str, token: str) -> bool:
    db = Database(url)
    try:
        with db.session(write=False) as session:
            row = session.execute(
                select(ApiToken.revoked_at, ApiToken.expires_at).where(ApiToken.digest == digest(token))
            ).one_or_none()
    finally:
        db.dispose()
    return row is not None and row.revoked_at is None and (row.expires_at is None or row.expires_at > now())


def _new_token_for(url: str, email: str) -> str | None:
    """A new token for the existing admin at ``email`` (audited), or None when there is no such admin."""
    db = Database(url)
    try:
        with db.session(write=True) as session:
            user = session.execute(select(User).where(User.email == email, User.role == "admin")).scalar_one_or_none()
            if user is None:
                return None
            secret = new_token()
            row = ApiToken(id=new_id(), user_id=user.id, name=TOKEN_NAME, digest=digest(secret), expires_at=None)
            session.add(row)
            session.flush()
            audit.record(session, SYSTEM, "create", "token", row.id, after=schemas.token(row))
            session.commit()
    finally:
        db.dispose()
    return secret


def _write_secret(path: Path, secret: str) -> None:
    """Write ``secret`` to ``path`` readable by this user only: a 0600 temporary file renamed into place."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # O_CREAT's mode is masked by the umask; a reused name keeps its own
        os.write(descriptor, secret.encode() + b"\n")
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    try:
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise ConfigurationError(f"Cannot store the data service's token in {path}: {error}.") from None
