"""Bring a database to the newest schema with Alembic; the revisions live in this package."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from .db import open_engine

SCRIPTS = Path(__file__).parent / "migrations"

#: Alembic keeps its running context in module globals: one upgrade per process at a time.
_ALEMBIC = threading.Lock()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["url"] = url
    return config


def migrate(url: str, revision: str = "head") -> str:
    """Upgrade the database at ``url`` to ``revision`` (default: the newest); return the revision it is at.

    Safe to call from several threads (Alembic's context is process-global, so they take turns) and from
    several processes at once (migrations/env.py takes a lock in the database).
    """
    with _ALEMBIC:
        command.upgrade(alembic_config(url), revision)
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            return current_revision(connection) or ""
    finally:
        engine.dispose()


def current_revision(connection: Connection) -> str | None:
    """The schema revision of the database, or None before the first migration."""
    return MigrationContext.configure(connection).get_current_revision()
