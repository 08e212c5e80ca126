"""The host's own PermissionRecordsPort: its SQLite file, for a host no plugin gives port ``permission_records``.

The tables are those of :mod:`._db` (an older file gains its missing columns
when opened).  Each write is one transaction that also bumps the stored
``grants_version``, which is what :meth:`HostPermissionRecords.version` reads,
so a host notices another process's ``symphony ext grant``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Literal

import msgspec
from sqlalchemy import Row, Table, delete, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from symphony.hookspecs import ModelBudget
from symphony.hookspecs.ports import DecisionRecord, GrantRecord, TrustMark

from ._db import AuditRow, GrantRow, StateRow, TrustRow, close_engine, open_engine

__all__ = ["HostPermissionRecords"]

_TABLE: Final[Table] = AuditRow.__table__  # type: ignore[assignment]  # declarative tables are Tables
#: The columns :meth:`HostPermissionRecords.record_decisions` writes, in the order of its row tuples.
_COLUMNS: Final = ("at", "extension", "kind", "permission", "target", "decision", "rule", "reason", "run_id", "mode")
assert set(_COLUMNS) == {c.name for c in _TABLE.columns} - {"id"}, "AuditRow and _COLUMNS disagree"
_INSERT: Final = f"INSERT INTO {_TABLE.name} ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
_VERSION: Final = "grants_version"


_STATE: Final[Table] = StateRow.__table__  # type: ignore[assignment]
_GRANTS: Final[Table] = GrantRow.__table__  # type: ignore[assignment]
#: Adds one to the version (creating it at 1): the same statement for every write.
_BUMP: Final = (
    sqlite_insert(_STATE)
    .values(key=_VERSION, value=1)
    .on_conflict_do_update(index_elements=[_STATE.c.key], set_={"value": _STATE.c.value + 1})
)
_GRANT_UPSERT: Final = sqlite_insert(_GRANTS)
_GRANT: Final = _GRANT_UPSERT.on_conflict_do_update(
    index_elements=[_GRANTS.c.extension, _GRANTS.c.permission],
    set_={
        name: _GRANT_UPSERT.excluded[name]
        for name in ("granted_at", "granted_by", "source", "budget_calls", "budget_tokens", "budget_cost", "identity")
    },
)
_TRUSTED: Final[Table] = TrustRow.__table__  # type: ignore[assignment]
_TRUST_UPSERT: Final = sqlite_insert(_TRUSTED)
_TRUST: Final = _TRUST_UPSERT.on_conflict_do_update(
    index_elements=[_TRUSTED.c.extension],
    set_={name: _TRUST_UPSERT.excluded[name] for name in ("trusted_at", "trusted_by", "identity")},
)
_READ_VERSION: Final = select(_STATE.c.value).where(_STATE.c.key == _VERSION)


def _grant(row: Row[Any]) -> GrantRecord:
    calls, tokens, cost = row.budget_calls, row.budget_tokens, row.budget_cost
    has_budget = calls is not None or tokens is not None or cost is not None
    return GrantRecord(
        extension=row.extension,
        permission=row.permission,
        granted_at=row.granted_at,
        granted_by=row.granted_by,
        source=row.source,
        budget=ModelBudget(calls=calls, tokens=tokens, cost=cost) if has_budget else None,
        identity=row.identity,
    )


class HostPermissionRecords:
    """Grants, trust marks and decisions in the SQLite file at ``database`` (``permissions.database``)."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self._engine = open_engine(database)

    def __repr__(self) -> str:
        return f"HostPermissionRecords({str(self.database)!r})"

    def close(self) -> None:
        """Close the file's connections (each holds the database, its -wal and its -shm open)."""
        close_engine(self._engine)

    def grant(self, grants: list[GrantRecord]) -> None:
        rows = [
            {
                "extension": r.extension,
                "permission": r.permission,
                "granted_at": r.granted_at,
                "granted_by": r.granted_by,
                "source": r.source,
                "budget_calls": r.budget.calls if r.budget else None,
                "budget_tokens": r.budget.tokens if r.budget else None,
                "budget_cost": r.budget.cost if r.budget else None,
                "identity": r.identity,
            }
            for r in grants
        ]
        with self._engine.begin() as connection:
            if rows:
                connection.execute(_GRANT, rows)
            connection.execute(_BUMP)

    def revoke(self, extension: str, permissions: list[str] | None = None) -> list[str]:
        where = [GrantRow.extension == extension]
        if permissions is not None:
            where.append(GrantRow.permission.in_(permissions))
        with self._engine.begin() as connection:
            found = sorted(connection.scalars(select(GrantRow.permission).where(*where)))
            if found:
                connection.execute(delete(GrantRow).where(*where))
                connection.execute(_BUMP)
        return found

    def grants(self, extension: str | None = None) -> list[GrantRecord]:
        # Core rows, not ORM objects: this read is most of an extension's first decision.
        query = select(_GRANTS).order_by(_GRANTS.c.extension, _GRANTS.c.permission)
        if extension is not None:
            query = query.where(_GRANTS.c.extension == extension)
        with self._engine.connect() as connection:
            return [_grant(row) for row in connection.execute(query)]

    def trust(self, mark: TrustMark) -> None:
        with self._engine.begin() as connection:
            connection.execute(_TRUST, msgspec.structs.asdict(mark))
            connection.execute(_BUMP)

    def untrust(self, extension: str) -> bool:
        with self._engine.begin() as connection:
            result = connection.execute(delete(TrustRow).where(TrustRow.extension == extension))
            removed = bool(result.rowcount)
            if removed:
                connection.execute(_BUMP)
        return removed

    def trust_marks(self) -> list[TrustMark]:
        with self._engine.connect() as connection:
            return [
                TrustMark(extension=r.extension, trusted_at=r.trusted_at, trusted_by=r.trusted_by, identity=r.identity)
                for r in connection.execute(select(_TRUSTED).order_by(_TRUSTED.c.extension))
            ]

    def version(self) -> int:
        with self._engine.connect() as connection:
            return connection.scalar(_READ_VERSION) or 0

    def record_decisions(self, decisions: list[DecisionRecord]) -> None:
        if not decisions:
            return
        rows = [
            (d.at, d.extension, d.kind, d.permission, d.target, d.decision, d.rule, d.reason, d.run_id, d.mode)
            for d in decisions
        ]
        # A driver-level executemany through SQLAlchemy's connection: half the cost of a Core insert.
        with self._engine.begin() as connection:
            connection.exec_driver_sql(_INSERT, rows)

    def decisions(
        self,
        *,
        extension: str | None = None,
        decision: Literal["allowed", "denied"] | None = None,
        run_id: str | None = None,
        limit: int | None = 100,
    ) -> list[DecisionRecord]:
        query = select(AuditRow).order_by(AuditRow.id.desc())
        if extension is not None:
            query = query.where(AuditRow.extension == extension)
        if decision is not None:
            query = query.where(AuditRow.decision == decision)
        if run_id is not None:
            query = query.where(AuditRow.run_id == run_id)
        if limit is not None:
            query = query.limit(limit)
        with Session(self._engine) as session:
            return [
                DecisionRecord(
                    id=row.id,
                    at=row.at,
                    extension=row.extension,
                    kind=row.kind,
                    permission=row.permission,
                    target=row.target,
                    decision="denied" if row.decision == "denied" else "allowed",
                    rule=row.rule,
                    reason=row.reason,
                    run_id=row.run_id,
                    mode="learn" if row.mode == "learn" else "enforce",
                )
                for row in session.scalars(query)
            ]
