"""Grants, trust marks and decisions of the host's own store (``<data_dir>/permissions.db``), into the data service.

The old file is read with plain ``sqlite3``, read-only, and written in one transaction as the
importing identity's records: an import is whole or not at all.  Records already present are kept
(a grant or trust mark of the same extension and permission, a decision identical in every field),
so a second import of the same file changes nothing.  The embedded service imports
``<data_dir>/permissions.db`` when it opens and then renames it ``permissions.db.imported`` (after
the commit: a failed import leaves it where it was); ``symphony data import-permissions PATH``
imports any such file and leaves it in place.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, tuple_
from sqlalchemy.orm import Session

from symphony.hookspecs import SymphonyError, ValidationError

from .legacy import LegacyStore, import_whole, set_aside
from .service import audit
from .service.auth import Identity
from .service.models import EXTENSION_GRANTS, EXTENSION_TRUST, PERMISSION_AUDIT
from .service.problems import forbidden
from .service.routes.permissions import bump_version

__all__ = [
    "LEGACY_FILE",
    "ImportedPermissions",
    "LegacyPermissions",
    "import_legacy_permissions",
    "import_permissions_file",
]

log = logging.getLogger(__name__)

#: The old store's file name under the data directory.
LEGACY_FILE = "permissions.db"
#: Rows per statement (and per IN list: below SQLite's parameter limit).
BATCH = 500

#: The old tables' columns: required, or their value when the file predates them (or holds NULL).
_GRANTS: dict[str, Any] = dict.fromkeys(("extension", "permission", "granted_at", "granted_by", "source"), ...) | {
    "budget_calls": None,
    "budget_tokens": None,
    "budget_cost": None,
    "identity": None,
}
_TRUSTED: dict[str, Any] = dict.fromkeys(("extension", "trusted_at", "trusted_by"), ...) | {"identity": None}
_AUDIT: dict[str, Any] = dict.fromkeys(
    ("at", "extension", "kind", "permission", "target", "decision", "rule", "reason"), ...
) | {"run_id": None, "mode": "enforce"}
#: What makes two decisions the same one (every field the host wrote).
_DECISION_KEY = tuple(_AUDIT)


@dataclass(frozen=True, slots=True)
class ImportedPermissions:
    """What an import wrote (and what it found present already)."""

    grants: int
    trust_marks: int
    decisions: int
    skipped: int


class LegacyPermissions(LegacyStore):
    """An old ``permissions.db``, open read-only: its grants, trust marks and decisions as the service's rows."""

    def __init__(self, path: Path) -> None:
        tables = {"grants": _GRANTS, "trusted": _TRUSTED, "audit": _AUDIT}
        super().__init__(
            path,
            tables=tables,
            required=tables,
            kind="a permissions database of the host",
            hint="give the path of a permissions.db the host wrote.",
        )

    def grants(self) -> Iterator[dict[str, Any]]:
        return self.rows("grants", _GRANTS, "extension, permission")

    def trust_marks(self) -> Iterator[dict[str, Any]]:
        return self.rows("trusted", _TRUSTED, "extension")

    def decisions(self) -> Iterator[dict[str, Any]]:
        """Oldest first, so they keep their order (ids) in the service."""
        for row in self.rows("audit", _AUDIT, "id"):
            if row["decision"] not in ("allowed", "denied") or row["mode"] not in ("enforce", "learn"):
                raise ValidationError(
                    f"{self.path} is damaged (a decision {row['decision']!r} in mode {row['mode']!r});"
                    " nothing was imported."
                )
            yield row


def _batches(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH)):
        yield batch


def _insert_new(session: Session, table: Any, keys: list[str], rows: Iterable[dict[str, Any]]) -> int:
    """Insert the ``rows`` whose ``keys`` are not present; how many were inserted (the file's keys are unique)."""
    key_columns = [table.c[name] for name in keys]
    inserted = 0
    for batch in _batches(rows):
        found = session.connection().execute(
            select(*key_columns).where(tuple_(*key_columns).in_([tuple(row[k] for k in keys) for row in batch]))
        )
        present = {tuple(row) for row in found}
        fresh = [row for row in batch if tuple(row[k] for k in keys) not in present]
        if fresh:
            session.connection().execute(insert(table), fresh)
        inserted += len(fresh)
    return inserted


def _append_new_decisions(session: Session, owner: str, rows: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """Append the decisions not present already (same fields, same owner); how many were appended and skipped."""
    appended = skipped = 0
    columns = [PERMISSION_AUDIT.c[name] for name in _DECISION_KEY]
    for batch in _batches(rows):
        found = session.connection().execute(
            select(*columns).where(
                PERMISSION_AUDIT.c.owner_id == owner, PERMISSION_AUDIT.c.at.in_({row["at"] for row in batch})
            )
        )
        present = {tuple(row) for row in found}
        fresh = [{**row, "owner_id": owner} for row in batch if tuple(row[k] for k in _DECISION_KEY) not in present]
        if fresh:
            session.connection().execute(insert(PERMISSION_AUDIT), fresh)
        appended += len(fresh)
        skipped += len(batch) - len(fresh)
    return appended, skipped


def import_permissions(session: Session, identity: Identity, source: LegacyPermissions) -> ImportedPermissions:
    """Write ``source``'s records as ``identity``'s, in the caller's transaction (audited, version bumped)."""
    if identity.role == "viewer":
        raise forbidden("A viewer may not grant permissions, so it may not import them; ask for the editor role.")
    owner = identity.id
    grants = _insert_new(
        session,
        EXTENSION_GRANTS,
        ["owner_id", "extension", "permission"],
        ({**row, "owner_id": owner} for row in source.grants()),
    )
    marks = _insert_new(
        session,
        EXTENSION_TRUST,
        ["owner_id", "extension"],
        ({**row, "owner_id": owner} for row in source.trust_marks()),
    )
    decisions, skipped = _append_new_decisions(session, owner, source.decisions())
    if grants or marks:
        bump_version(session, owner)
    if grants or marks or decisions:
        after = {"path": str(source.path), "grants": grants, "trust_marks": marks, "decisions": decisions}
        audit.record(session, identity, "import", "permissions", owner, after=after)
    return ImportedPermissions(grants=grants, trust_marks=marks, decisions=decisions, skipped=skipped)


def import_permissions_file(url: str, path: Path, *, token: str) -> ImportedPermissions:
    """Import the old permissions store at ``path`` into the service's database at ``url``, as the owner of ``token``.

    One transaction: on any error nothing is imported, and the error says why.
    """
    with LegacyPermissions(path) as source:
        return import_whole(url, path, token, lambda session, identity: import_permissions(session, identity, source))


def import_legacy_permissions(url: str, data_dir: Path, *, token: str) -> ImportedPermissions | None:
    """Import ``<data_dir>/permissions.db`` if there is one, then rename it ``permissions.db.imported``.

    Called as the embedded service opens (under its open lock).  A failed import is logged, not raised: the
    service still opens, the file stays where it was, and ``symphony data import-permissions`` shows the error.
    """
    path = data_dir / LEGACY_FILE
    if not path.is_file():
        return None
    try:
        imported = import_permissions_file(url, path, token=token)
    except SymphonyError as error:
        log.warning(
            "data: the old permissions store %s was not imported: %s (run `symphony data import-permissions %s`"
            " to retry)",
            path,
            error,
            path,
        )
        return None
    aside = set_aside(path)
    log.info(
        "data: imported %d grants, %d trust marks and %d decisions (%d already present) from %s; it is now %s",
        imported.grants,
        imported.trust_marks,
        imported.decisions,
        imported.skipped,
        path,
        aside,
    )
    return imported
