"""Runs kept by the DAG tracker's own SQLite store (``<data_dir>/runs.db``, before issue 15), into the data service.

The old file is read with plain ``sqlite3``, read-only, and its rows written by the service's import
function in one transaction: an import is whole or not at all.  Runs already present are skipped, so
a second import of the same file changes nothing.  The embedded service imports ``<data_dir>/runs.db``
when it opens and then renames it ``runs.db.imported`` (after the commit: a failed import leaves it
where it was); ``symphony data import-runs PATH`` imports any such file and leaves it in place.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from symphony.hookspecs import DataError, NotFoundError, SymphonyError, ValidationError, error_class_for

from .service.auth import identify
from .service.db import Database
from .service.models import now
from .service.problems import Problem
from .service.runs_import import Imported, import_runs

__all__ = ["LEGACY_FILE", "Imported", "LegacyRuns", "import_legacy_runs", "import_runs_file"]

log = logging.getLogger(__name__)

#: The old store's file name under the data directory.
LEGACY_FILE = "runs.db"

#: The old tables' columns: required (the file is not a run store without them), or their value when the file
#: predates them (the old store added columns to older files as nullable, so NULL means the default too).
_RUNS: dict[str, Any] = dict.fromkeys(
    ("id", "workflow_id", "workflow_name", "document", "inputs", "state", "nodes_total", "created_at", "updated_at"),
    ...,
) | {
    "finished_at": None,
    "pid": None,
    "hostname": None,
    "process_started": None,
    "cancel_requested": False,
    "error": None,
    "failure_category": None,
    "parent_id": None,
    "outputs": None,
    "metrics": None,
    "waiting": None,
    "prewarmed": None,
}
_NODES: dict[str, Any] = dict.fromkeys(("run_id", "node_id", "state", "finished_at"), ...) | {
    "attempts": 0,
    "outputs": None,
    "outputs_ref": None,
    "error": None,
    "detail": None,
    "cached": False,
    "queue_wait": 0.0,
    "run_time": 0.0,
}
_CACHE: dict[str, Any] = dict.fromkeys(("key", "uses", "run_id", "node_id", "created_at"), ...) | {
    "outputs": None,
    "outputs_ref": None,
}
_BOOLEANS = ("cancel_requested", "cached")


class LegacyRuns:
    """An old ``runs.db``, open read-only: its runs, node checkpoints and cache entries as the service's rows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            raise NotFoundError(f"No file {path}; give the path of a runs.db the DAG tracker wrote.")
        if not path.is_file():
            raise ValidationError(f"{path} is not a file; give the path of a runs.db the DAG tracker wrote.")
        try:
            self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        except sqlite3.Error as error:
            raise ValidationError(f"Cannot open {path}: {error}.") from None
        try:
            self._columns = {table: self._columns_of(table) for table in ("runs", "nodes", "node_cache")}
        except sqlite3.DatabaseError as error:
            self.close()
            raise ValidationError(
                f"{path} is not a SQLite database ({error}); give the path of a runs.db the DAG tracker wrote."
            ) from None
        for table, wanted in (("runs", _RUNS), ("nodes", _NODES)):
            missing = [name for name, default in wanted.items() if default is ... and name not in self._columns[table]]
            if missing:
                self.close()
                raise ValidationError(
                    f"{path} is not a run database of the DAG tracker: table {table!r} lacks {', '.join(missing)};"
                    " give the path of a runs.db the DAG tracker wrote."
                )

    def _columns_of(self, table: str) -> set[str]:
        return {row[1] for row in self._db.execute("select * from pragma_table_info(?)", (table,))}

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> LegacyRuns:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rows(self, table: str, wanted: dict[str, Any], order: str) -> Iterator[dict[str, Any]]:
        present = [name for name in wanted if name in self._columns[table]]
        if not present:
            return  # node_cache: a file without one has no cache entries
        # Names come from the constants above, never from the file: nothing the file holds reaches the SQL.
        names = ", ".join(f'"{name}"' for name in present)
        cursor = self._db.execute(f"select {names} from {table} order by {order}")
        try:
            for values in cursor:
                row = {name: default for name, default in wanted.items() if default is not ...}
                row.update((name, value) for name, value in zip(present, values, strict=True) if value is not None)
                for name in _BOOLEANS:
                    if name in row:
                        row[name] = bool(row[name])
                yield row
        except sqlite3.DatabaseError as error:
            raise ValidationError(f"{self.path} is damaged ({error}); nothing was imported.") from None

    def runs(self) -> Iterator[dict[str, Any]]:
        return self._rows("runs", _RUNS, "created_at, id")

    def nodes(self) -> Iterator[dict[str, Any]]:
        return self._rows("nodes", _NODES, "run_id, node_id")

    def cache(self) -> Iterator[dict[str, Any]]:
        return self._rows("node_cache", _CACHE, '"key"')


def import_runs_file(url: str, path: Path, *, token: str) -> Imported:
    """Import the old run store at ``path`` into the service's database at ``url``, as the owner of ``token``.

    One transaction: on any error nothing is imported, and the error says why.
    """
    with LegacyRuns(path) as source:
        db = Database(url)
        try:
            with db.session(write=True) as session:
                identity = identify(session, token, now())
                imported = import_runs(session, identity, source.runs(), source.nodes(), source.cache())
                session.commit()
        except Problem as problem:
            cls = error_class_for(problem.category)
            raise (cls if issubclass(cls, DataError) else DataError)(problem.detail) from None
        except SQLAlchemyError as error:
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            raise DataError(f"Cannot import {path}: {reason}; nothing was imported.") from None
        finally:
            db.dispose()
    return imported


def import_legacy_runs(url: str, data_dir: Path, *, token: str) -> Imported | None:
    """Import ``<data_dir>/runs.db`` if there is one, then rename it ``runs.db.imported`` (None: nothing to do).

    Called as the embedded service opens (under its open lock).  A failed import is logged, not raised: the
    service still opens, the file stays where it was, and ``symphony data import-runs`` shows the error.
    """
    path = data_dir / LEGACY_FILE
    if not path.is_file():
        return None
    try:
        imported = import_runs_file(url, path, token=token)
    except SymphonyError as error:
        log.warning(
            "data: the old run store %s was not imported: %s (run `symphony data import-runs %s` to retry)",
            path,
            error,
            path,
        )
        return None
    aside = _set_aside(path)
    log.info(
        "data: imported %d runs (%d already present), %d checkpoints and %d cache entries from %s; it is now %s",
        imported.runs,
        imported.skipped,
        imported.nodes,
        imported.cache_entries,
        path,
        aside,
    )
    return imported


def _set_aside(path: Path) -> Path:
    """Rename the imported file (and its WAL files) to ``<name>.imported`` (``.imported.N`` if taken)."""
    target = path.with_name(f"{path.name}.imported")
    number = 1
    while target.exists():
        target = path.with_name(f"{path.name}.imported.{number}")
        number += 1
    os.replace(path, target)
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.replace(companion, target.with_name(target.name + suffix))
    return target
