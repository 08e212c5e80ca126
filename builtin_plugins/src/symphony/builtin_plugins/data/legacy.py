"""Old SQLite stores (``runs.db``, ``permissions.db``) read for an import into the data service.

A store is opened read-only and checked before anything is written: a missing file, a file that is not
SQLite and one lacking the tables the import needs are refused with the path to give instead.  Its rows
are written in one transaction (``import_whole``): an import is whole or not at all.  The embedded
service sets an imported file aside (``set_aside``) once the import committed.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from symphony.hookspecs import DataError, NotFoundError, ValidationError, error_class_for

from .service.auth import Identity, identify
from .service.db import Database
from .service.models import now
from .service.problems import Problem

__all__ = ["LegacyStore", "import_whole", "set_aside"]

T = TypeVar("T")

#: A column's default when the file predates it; ``...``: required (the file is not the store without it).
Columns = Mapping[str, Any]


class LegacyStore:
    """An old store at ``path``, open read-only, whose ``required`` tables have their required columns.

    ``tables`` names every table the import reads (a missing optional one reads as empty); ``kind`` and
    ``hint`` make the messages ("... is not {kind} ...; {hint}").
    """

    def __init__(
        self,
        path: Path,
        *,
        tables: Collection[str],
        required: Mapping[str, Columns],
        kind: str,
        hint: str,
        booleans: Collection[str] = (),
    ) -> None:
        self.path = path
        self._booleans = booleans
        if not path.exists():
            raise NotFoundError(f"No file {path}; {hint}")
        if not path.is_file():
            raise ValidationError(f"{path} is not a file; {hint}")
        try:
            self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        except sqlite3.Error as error:
            raise ValidationError(f"Cannot open {path}: {error}.") from None
        try:
            self._columns = {table: self._columns_of(table) for table in tables}
        except sqlite3.DatabaseError as error:
            self.close()
            raise ValidationError(f"{path} is not a SQLite database ({error}); {hint}") from None
        for table, wanted in required.items():
            missing = [name for name, default in wanted.items() if default is ... and name not in self._columns[table]]
            if missing:
                self.close()
                raise ValidationError(f"{path} is not {kind}: table {table!r} lacks {', '.join(missing)}; {hint}")

    def _columns_of(self, table: str) -> set[str]:
        return {row[1] for row in self._db.execute("select * from pragma_table_info(?)", (table,))}

    def close(self) -> None:
        self._db.close()

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rows(self, table: str, wanted: Columns, order: str) -> Iterator[dict[str, Any]]:
        """``table``'s rows by ``order``, as the ``wanted`` columns (a column the file lacks: its default)."""
        present = [name for name in wanted if name in self._columns[table]]
        if not present:
            return  # an optional table the file lacks: no rows
        # Names come from the importers' constants, never from the file: nothing the file holds reaches the SQL.
        names = ", ".join(f'"{name}"' for name in present)
        cursor = self._db.execute(f"select {names} from {table} order by {order}")
        try:
            for values in cursor:
                row = {name: default for name, default in wanted.items() if default is not ...}
                row.update((name, value) for name, value in zip(present, values, strict=True) if value is not None)
                for name in self._booleans:
                    if name in row:
                        row[name] = bool(row[name])
                yield row
        except sqlite3.DatabaseError as error:
            raise ValidationError(f"{self.path} is damaged ({error}); nothing was imported.") from None


def import_whole(url: str, path: Path, token: str, write: Callable[[Session, Identity], T]) -> T:
    """``write`` the store at ``path`` into the database at ``url`` as the owner of ``token``, in one transaction.

    On any error nothing is imported, and the DataError says why.
    """
    db = Database(url)
    try:
        with db.session(write=True) as session:
            written = write(session, identify(session, token, now()))
            session.commit()
    except Problem as problem:
        cls = error_class_for(problem.category)
        raise (cls if issubclass(cls, DataError) else DataError)(problem.detail) from None
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise DataError(f"Cannot import {path}: {reason}; nothing was imported.") from None
    finally:
        db.dispose()
    return written


def set_aside(path: Path) -> Path:
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
