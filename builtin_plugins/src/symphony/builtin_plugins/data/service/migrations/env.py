"""Alembic's entry point: migrate the URL ``migrate()`` passed, against the models' metadata.

One migrator at a time: on PostgreSQL a transaction-scoped advisory lock, on SQLite a write
transaction from the start, so service replicas starting together upgrade once and the others
find the schema already at the head.  The transaction is begun here, before Alembic reads the
version, and holds every migration: Alembic, left to itself on SQLite (no transactional DDL in
its view), commits after each migration, and a migrator that read the version before another's
first commit went on to run the next migrations again ("table already exists").
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from symphony.builtin_plugins.data.service.db import open_engine
from symphony.builtin_plugins.data.service.models import Base

#: The advisory lock's key (any constant the service alone uses).
_MIGRATION_LOCK = 0x53594D50

engine = open_engine(context.config.attributes["url"])
try:
    with engine.connect().execution_options(write=True) as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            connection.execute(text("select pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        context.configure(  # in a transaction already: Alembic begins and commits none of its own
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        context.run_migrations()
finally:
    engine.dispose()
