"""Alembic's entry point: migrate the URL ``migrate()`` passed, against the models' metadata."""

from __future__ import annotations

from alembic import context

from symphony.builtin_plugins.data.service.db import open_engine
from symphony.builtin_plugins.data.service.models import Base

engine = open_engine(context.config.attributes["url"])
try:
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
finally:
    engine.dispose()
