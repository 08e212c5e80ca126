"""The grant store: what the user granted each extension, apart from what its manifest declares.

Grants are stored one target per row in text form (``file:read:/x/**``), with
when, by whom and through what they were granted, and for model grants an
optional budget.  Each write is one transaction that also bumps a stored
version; :attr:`GrantStore.generation` changes on every write in this
process, and :meth:`GrantStore.refresh` notices writes by other processes
(``symphony ext grant`` while a host runs), so checkers keep compiled grants
until either moves.
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from symphony.hookspecs import ModelAccess, ModelBudget, Permission, format_permission, parse_permission
from symphony.hookspecs._permission_rules import single_targets

from ._db import GrantRow, StateRow, TrustRow, open_engine

__all__ = ["Grant", "GrantStore", "current_user"]


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class Grant(msgspec.Struct, frozen=True, kw_only=True):
    """One granted permission (single target) and where it came from."""

    extension: str
    permission: str
    granted_at: float
    granted_by: str
    source: str
    budget: ModelBudget | None = None

    def value(self) -> Permission:
        """The permission, with its budget for a model grant."""
        permission = parse_permission(self.permission)
        if isinstance(permission, ModelAccess) and self.budget is not None:
            return ModelAccess(models=permission.models, budget=self.budget)
        return permission


def _texts(permissions: Iterable[Permission | str]) -> list[str]:
    """Single-target, canonical text forms; PermissionSyntaxError for malformed text."""
    out: list[str] = []
    for item in permissions:
        permission = parse_permission(item) if isinstance(item, str) else item
        out += [format_permission(single)[0] for single in single_targets(permission)]
    return list(dict.fromkeys(out))


def _grant(row: GrantRow) -> Grant:
    has_budget = any(v is not None for v in (row.budget_calls, row.budget_tokens, row.budget_cost))
    budget = ModelBudget(calls=row.budget_calls, tokens=row.budget_tokens, cost=row.budget_cost) if has_budget else None
    return Grant(
        extension=row.extension,
        permission=row.permission,
        granted_at=row.granted_at,
        granted_by=row.granted_by,
        source=row.source,
        budget=budget,
    )


class GrantStore:
    """Grants and trust marks in the permissions database (see :mod:`._db`)."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self._engine = open_engine(database)
        self.generation = 0
        self._version = self._stored_version()

    def grant(
        self,
        extension: str,
        permissions: Iterable[Permission | str],
        *,
        by: str | None = None,
        source: str = "api",
        budget: ModelBudget | None = None,
    ) -> list[Grant]:
        """Grant ``permissions`` (re-granting replaces the metadata and budget); ``budget`` applies to model ones."""
        texts = _texts(permissions)
        now, who = time.time(), by or current_user()
        with Session(self._engine) as session, session.begin():
            existing = {
                row.permission: row
                for row in session.scalars(
                    select(GrantRow).where(GrantRow.extension == extension, GrantRow.permission.in_(texts))
                )
            }
            rows = []
            for permission_text in texts:
                row = existing.get(permission_text) or GrantRow(extension=extension, permission=permission_text)
                model_budget = budget if permission_text.startswith("model:") else None
                row.granted_at, row.granted_by, row.source = now, who, source
                row.budget_calls = model_budget.calls if model_budget else None
                row.budget_tokens = model_budget.tokens if model_budget else None
                row.budget_cost = model_budget.cost if model_budget else None
                session.add(row)
                rows.append(row)
            session.flush()
            granted = [_grant(row) for row in rows]
            self._bump(session)
        self.generation += 1
        return granted

    def revoke(self, extension: str, permissions: Iterable[Permission | str]) -> list[str]:
        """Revoke ``permissions``; returns the texts that were granted and now are not."""
        texts = _texts(permissions)
        with Session(self._engine) as session, session.begin():
            found = list(
                session.scalars(
                    select(GrantRow.permission).where(GrantRow.extension == extension, GrantRow.permission.in_(texts))
                )
            )
            session.execute(delete(GrantRow).where(GrantRow.extension == extension, GrantRow.permission.in_(found)))
            self._bump(session)
        self.generation += 1
        return [t for t in texts if t in found]

    def revoke_all(self, extension: str) -> list[str]:
        """Revoke every grant of ``extension``; returns what was granted."""
        with Session(self._engine) as session, session.begin():
            found = list(session.scalars(select(GrantRow.permission).where(GrantRow.extension == extension)))
            session.execute(delete(GrantRow).where(GrantRow.extension == extension))
            self._bump(session)
        self.generation += 1
        return found

    def grants(self, extension: str) -> tuple[Grant, ...]:
        with Session(self._engine) as session:
            rows = session.scalars(select(GrantRow).where(GrantRow.extension == extension).order_by(GrantRow.id))
            return tuple(_grant(row) for row in rows)

    def all_grants(self) -> dict[str, tuple[Grant, ...]]:
        """Every extension's grants."""
        found: dict[str, list[Grant]] = {}
        with Session(self._engine) as session:
            for row in session.scalars(select(GrantRow).order_by(GrantRow.extension, GrantRow.id)):
                found.setdefault(row.extension, []).append(_grant(row))
        return {name: tuple(grants) for name, grants in found.items()}

    def trust(self, extension: str, *, by: str | None = None) -> None:
        with Session(self._engine) as session, session.begin():
            session.merge(TrustRow(extension=extension, trusted_at=time.time(), trusted_by=by or current_user()))
            self._bump(session)
        self.generation += 1

    def untrust(self, extension: str) -> bool:
        """Remove the user's trust mark; False if there was none."""
        with Session(self._engine) as session, session.begin():
            result = session.execute(delete(TrustRow).where(TrustRow.extension == extension))
            self._bump(session)
        self.generation += 1
        return bool(getattr(result, "rowcount", 0))

    def trusted(self) -> frozenset[str]:
        """The extensions the user marked trusted."""
        with Session(self._engine) as session:
            return frozenset(session.scalars(select(TrustRow.extension)))

    def _bump(self, session: Session) -> None:
        row = session.get(StateRow, "grants_version") or StateRow(key="grants_version", value=0)
        row.value += 1
        session.add(row)
        session.flush()
        self._version = row.value

    def _stored_version(self) -> int:
        with Session(self._engine) as session:
            row = session.get(StateRow, "grants_version")
            return row.value if row else 0

    def refresh(self) -> bool:
        """Notice writes by other processes; True (and a new generation) if there were any since last asked."""
        version = self._stored_version()
        changed = version != self._version
        self._version = version
        if changed:
            self.generation += 1
        return changed

    def texts(self, extension: str) -> Sequence[str]:
        return [grant.permission for grant in self.grants(extension)]
